import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment'
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { IProbe } from 'kubernetes-models/v1/Probe'
import { app } from '../app.js'
import type { K8sObject } from '../objects.js'
import {
  appWorkloads,
  initContainers,
  numericSetting,
  resolvePort,
  scaled,
  setting,
  type Workload,
  where,
} from '../workloads.js'
import { check } from './check.js'

// The API's pods against the app's contract: ports, health routes, shutdown timing, rollout, migrations.

function probePort(w: Workload, c: IContainer, probe: IProbe | undefined): number | undefined {
  const port = probe?.httpGet?.port
  if (typeof port === 'number') return port
  return c.ports?.find((p) => p.name === port)?.containerPort ?? resolvePort(w, port)?.port.containerPort
}

/** Probe paths are the app's health routes, on the port the app listens on (PORT). */
export function assertAppProbes(objects: readonly K8sObject[]): void {
  check("probes must hit the app's health routes on its port", (problems) => {
    for (const w of appWorkloads(objects)) {
      const c = w.container
      const port = numericSetting(objects, w, c, 'PORT')
      const expected = [
        ['startupProbe', app.livePath],
        ['livenessProbe', app.livePath],
        ['readinessProbe', app.readyPath],
      ] as const
      for (const [name, path] of expected) {
        const probe = c[name]
        if (!probe?.httpGet) {
          problems.push(`${where(w, c)}: ${name} is not an httpGet probe`)
          continue
        }
        if (probe.httpGet.path !== path) {
          problems.push(`${where(w, c)}: ${name} path is ${probe.httpGet.path}, the app serves ${path}`)
        }
        const actual = probePort(w, c, probe)
        if (actual !== port)
          problems.push(`${where(w, c)}: ${name} port resolves to ${actual}, the app listens on ${port}`)
      }
    }
  })
}

/**
 * The container declares the ports the app listens on (PORT as `http`, METRICS_PORT as `metrics`),
 * on all interfaces, and the scrape annotation names the metrics port.
 */
export function assertAppPorts(objects: readonly K8sObject[]): void {
  check('container ports must be the ports the app listens on', (problems) => {
    for (const w of appWorkloads(objects)) {
      const c = w.container
      const host = setting(objects, w, c, 'HOST')
      if (host !== '0.0.0.0' && host !== '::')
        problems.push(`${where(w, c)}: HOST is ${host}, unreachable from outside the pod`)
      for (const [name, variable] of [
        ['http', 'PORT'],
        ['metrics', 'METRICS_PORT'],
      ] as const) {
        const expected = numericSetting(objects, w, c, variable)
        const declared = c.ports?.find((p) => p.name === name)?.containerPort
        if (declared !== expected) {
          problems.push(
            `${where(w, c)}: port "${name}" is ${declared ?? 'not declared'}, ${variable} is ${expected}`,
          )
        }
      }
      const scrape = w.template.metadata?.annotations?.['prometheus.io/port']
      const metrics = numericSetting(objects, w, c, 'METRICS_PORT')
      if (scrape !== undefined && Number(scrape) !== metrics) {
        problems.push(`${where(w)}: prometheus.io/port is ${scrape}, METRICS_PORT is ${metrics}`)
      }
    }
  })
}

/** The kubelet's SIGKILL must come after the app's own drain: delay + timeout. */
export function assertGracePeriod(objects: readonly K8sObject[]): void {
  check('terminationGracePeriodSeconds must outlast SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS', (problems) => {
    for (const w of appWorkloads(objects)) {
      const delay = numericSetting(objects, w, w.container, 'SHUTDOWN_DELAY_MS')
      const timeout = numericSetting(objects, w, w.container, 'SHUTDOWN_TIMEOUT_MS')
      const grace = w.template.spec?.terminationGracePeriodSeconds ?? 30
      if (grace * 1000 <= delay + timeout) {
        problems.push(
          `${where(w)}: terminationGracePeriodSeconds ${grace} s is not above ${delay} + ${timeout} ms`,
        )
      }
    }
  })
}

/** A failing pod must leave the endpoints within the drain delay, which is what the delay waits for. */
export function assertReadinessWithinDrainDelay(objects: readonly K8sObject[]): void {
  check('readiness must detect a failing pod within SHUTDOWN_DELAY_MS', (problems) => {
    for (const w of appWorkloads(objects)) {
      const delay = numericSetting(objects, w, w.container, 'SHUTDOWN_DELAY_MS')
      const probe = w.container.readinessProbe
      const detection = (probe?.periodSeconds ?? 10) * (probe?.failureThreshold ?? 3) * 1000
      if (detection >= delay) {
        problems.push(
          `${where(w, w.container)}: readiness needs ${detection} ms (periodSeconds x failureThreshold), ` +
            `SHUTDOWN_DELAY_MS is ${delay} ms`,
        )
      }
    }
  })
}

/**
 * Rollouts add a pod before removing one, wait for it to prove itself, stop at a deadline when it
 * never does, and keep revisions to undo to: the guarantees `pnpm rollout` gives on Compose.
 */
export function assertZeroDowntimeRollout(objects: readonly K8sObject[]): void {
  check('the API must roll out without losing capacity', (problems) => {
    for (const w of appWorkloads(objects)) {
      if (w.object.kind !== 'Deployment') continue
      const spec = (w.object as K8sObject & IDeployment).spec
      const strategy = spec?.strategy
      if (strategy?.type !== 'RollingUpdate')
        problems.push(`${where(w)}: strategy is ${strategy?.type ?? 'unset'}`)
      const unavailable = strategy?.rollingUpdate?.maxUnavailable
      if (unavailable !== 0 && unavailable !== '0%') {
        problems.push(`${where(w)}: maxUnavailable is ${unavailable ?? 'unset (25%)'}, not 0`)
      }
      if (scaled(strategy?.rollingUpdate?.maxSurge, spec?.replicas ?? 1, 1) < 1) {
        problems.push(`${where(w)}: maxSurge is 0, so a rollout with maxUnavailable 0 cannot start`)
      }
      if (!spec?.minReadySeconds) problems.push(`${where(w)}: minReadySeconds is not set`)
      // The automatic stop of a rollout whose pods never become ready, stated, not left to the default.
      if (!spec?.progressDeadlineSeconds) problems.push(`${where(w)}: progressDeadlineSeconds is not set`)
      // `kubectl rollout undo` needs a previous ReplicaSet to go back to.
      if (spec?.revisionHistoryLimit === 0)
        problems.push(`${where(w)}: revisionHistoryLimit 0 leaves nothing to undo to`)
    }
  })
}

/**
 * Migrations run from the same image, before the app container, with the database URL, in every pod
 * of a service with a database, from the image's working directory: the runner's default folder,
 * ./drizzle, is then the service's own migrations.
 */
export function assertMigrationsBeforeApp(objects: readonly K8sObject[]): void {
  check('each pod of a service with a database must run its migrator first', (problems) => {
    for (const w of appWorkloads(objects)) {
      if (!w.app.database) continue
      const migrator = initContainers(w).find(
        (c) => JSON.stringify(c.command) === JSON.stringify(app.migrateCommand),
      )
      if (!migrator) {
        problems.push(`${where(w)}: no init container runs ${app.migrateCommand.join(' ')}`)
        continue
      }
      if (migrator.image !== w.container.image) {
        problems.push(
          `${where(w, migrator)}: image ${migrator.image} differs from the app's ${w.container.image}`,
        )
      }
      const env = new Set((migrator.env ?? []).map((e) => e.name))
      if (!env.has('DATABASE_URL') && !env.has('DATABASE_URL_FILE') && !migrator.envFrom?.length) {
        problems.push(`${where(w, migrator)}: gets neither DATABASE_URL nor DATABASE_URL_FILE`)
      }
      // The runner applies ./drizzle of the image's working directory (/app): the service's own
      // migrations. Pointing it elsewhere would apply another folder's to this service's database.
      if (env.has('MIGRATIONS_DIR')) {
        problems.push(
          `${where(w, migrator)}: sets MIGRATIONS_DIR; the migrator must apply ${w.app.name}'s own ./drizzle`,
        )
      }
      if (migrator.workingDir !== undefined && migrator.workingDir !== w.container.workingDir) {
        problems.push(
          `${where(w, migrator)}: workingDir ${migrator.workingDir} is not the app's, so ./drizzle is not ${w.app.name}'s`,
        )
      }
    }
  })
}
