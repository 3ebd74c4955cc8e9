import type { IIngressRoute } from '@kubernetes-models/traefik/traefik.io/v1alpha1/IngressRoute'
import type { IMiddleware } from '@kubernetes-models/traefik/traefik.io/v1alpha1/Middleware'
import type { IServersTransport } from '@kubernetes-models/traefik/traefik.io/v1alpha1/ServersTransport'
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment'
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { IProbe } from 'kubernetes-models/v1/Probe'
import type { ISecret } from 'kubernetes-models/v1/Secret'
import type { IService } from 'kubernetes-models/v1/Service'
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount'
import { app } from './app.js'
import { isObject, type K8sObject, ofKind, ref } from './objects.js'
import {
  appWorkloads,
  containers,
  initContainers,
  isAppImage,
  numericSetting,
  parseDuration,
  parseQuantity,
  resolvePort,
  scaled,
  selects,
  setting,
  type Workload,
  where,
  workloads,
} from './workloads.js'

/** Thrown by an assertion with every problem it found, one per line. */
export class ManifestError extends Error {
  constructor(
    readonly check: string,
    readonly problems: string[],
  ) {
    super(`${check}:\n - ${problems.join('\n - ')}`)
    this.name = 'ManifestError'
  }
}

export type Assertion = (objects: readonly K8sObject[]) => void

function check(name: string, collect: (problems: string[]) => void): void {
  const problems: string[] = []
  collect(problems)
  if (problems.length > 0) throw new ManifestError(name, problems)
}

function everyContainer(objects: readonly K8sObject[]): { w: Workload; c: IContainer; init: boolean }[] {
  return workloads(objects).flatMap((w) => [
    ...initContainers(w).map((c) => ({ w, c, init: true })),
    ...containers(w).map((c) => ({ w, c, init: false })),
  ])
}

/** No `:latest`, no untagged image: what runs must be what was reviewed. */
export function assertImagesPinned(objects: readonly K8sObject[]): void {
  check('images must be pinned', (problems) => {
    for (const { w, c } of everyContainer(objects)) {
      const image = c.image ?? ''
      if (image.includes('@sha256:')) continue
      const tag = /:([^/:]+)$/.exec(image)?.[1]
      if (!tag) problems.push(`${where(w, c)}: image "${image}" has no tag`)
      else if (tag === 'latest') problems.push(`${where(w, c)}: image "${image}" uses :latest`)
    }
  })
}

/** Startup, liveness and readiness on every long-running container (init containers run to completion). */
export function assertProbesPresent(objects: readonly K8sObject[]): void {
  check('every container needs startup, liveness and readiness probes', (problems) => {
    for (const { w, c, init } of everyContainer(objects)) {
      if (init) continue
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
        if (!c[probe]) problems.push(`${where(w, c)}: has no ${probe}`)
      }
    }
  })
}

/** Requests (for scheduling and the HPA) and limits (so one pod cannot starve a node), init containers too. */
export function assertResources(objects: readonly K8sObject[]): void {
  check('every container needs CPU and memory requests and limits', (problems) => {
    for (const { w, c } of everyContainer(objects)) {
      for (const kind of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory']) {
          if (c.resources?.[kind]?.[resource] === undefined) {
            problems.push(`${where(w, c)}: no ${kind}.${resource}`)
          }
        }
      }
      const request = c.resources?.requests?.memory
      const limit = c.resources?.limits?.memory
      if (request !== undefined && limit !== undefined && parseQuantity(request) > parseQuantity(limit)) {
        problems.push(`${where(w, c)}: memory request ${request} is above its limit ${limit}`)
      }
    }
  })
}

/** The restricted profile: non-root, seccomp, no privilege escalation, read-only root, no capabilities. */
export function assertSecurityContext(objects: readonly K8sObject[]): void {
  check('every container needs the full security context', (problems) => {
    for (const { w, c } of everyContainer(objects)) {
      const pod = w.template.spec?.securityContext ?? {}
      const own = c.securityContext ?? {}
      const at = where(w, c)
      if ((own.runAsNonRoot ?? pod.runAsNonRoot) !== true) problems.push(`${at}: runAsNonRoot is not true`)
      if ((own.runAsUser ?? pod.runAsUser) === 0) problems.push(`${at}: runs as uid 0`)
      const seccomp = (own.seccompProfile ?? pod.seccompProfile)?.type
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
        problems.push(`${at}: seccompProfile is ${seccomp ?? 'unset'}, not RuntimeDefault`)
      }
      if (own.allowPrivilegeEscalation !== false)
        problems.push(`${at}: allowPrivilegeEscalation is not false`)
      if (own.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem is not true`)
      if (!own.capabilities?.drop?.includes('ALL')) problems.push(`${at}: capabilities do not drop ALL`)
      if ((own.capabilities?.add ?? []).length > 0) problems.push(`${at}: adds capabilities`)
      if (own.privileged === true) problems.push(`${at}: is privileged`)
    }
  })
}

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

/** Rollouts add a pod before removing one, and wait for it to prove itself. */
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
    }
  })
}

/** Migrations run from the same image, before the app container, with the database URL. */
export function assertMigrationsBeforeApp(objects: readonly K8sObject[]): void {
  check('each API pod must run the migrator first', (problems) => {
    for (const w of appWorkloads(objects)) {
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
    }
  })
}

/** Each `<NAME>_FILE` points into a mounted Secret that has the key (when the Secret is rendered). */
export function assertSecretFiles(objects: readonly K8sObject[]): void {
  check('*_FILE variables must point to a mounted Secret key', (problems) => {
    const secrets = ofKind<ISecret>(objects, 'Secret')
    for (const { w, c } of everyContainer(objects)) {
      const names = new Set((c.env ?? []).map((e) => e.name))
      if (isAppImage(c.image) && !names.has('DATABASE_URL') && !names.has('DATABASE_URL_FILE')) {
        problems.push(`${where(w, c)}: gets neither DATABASE_URL nor DATABASE_URL_FILE`)
      }
      for (const env of c.env ?? []) {
        if (!env.name.endsWith('_FILE') || env.value === undefined) continue
        const path = env.value
        const mount = (c.volumeMounts ?? []).find((m) =>
          path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`),
        )
        const volume = w.template.spec?.volumes?.find((v) => v.name === mount?.name)
        if (!mount || !volume?.secret) {
          problems.push(`${where(w, c)}: ${env.name}=${path} is not inside a mounted Secret`)
          continue
        }
        const file = path.slice(mount.mountPath.replace(/\/$/, '').length + 1)
        const items = volume.secret.items
        const key = items ? items.find((i) => i.path === file)?.key : file
        if (!key) {
          problems.push(
            `${where(w, c)}: ${env.name}=${path}: Secret volume ${volume.name} has no item at ${file}`,
          )
          continue
        }
        const secret = secrets.find((s) => s.metadata.name === volume.secret?.secretName)
        if (secret && secret.data?.[key] === undefined && secret.stringData?.[key] === undefined) {
          problems.push(`${where(w, c)}: ${env.name}: Secret ${secret.metadata.name} has no key ${key}`)
        }
      }
    }
  })
}

/** V8's heap limit must sit well inside the cgroup limit, or the OOM killer fires before the GC. */
export function assertHeapFitsMemoryLimit(objects: readonly K8sObject[]): void {
  check('NODE_OPTIONS --max-old-space-size must fit the memory limit', (problems) => {
    for (const { w, c } of everyContainer(objects)) {
      if (!isAppImage(c.image)) continue
      const options = c.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? ''
      const heap = /--max-old-space-size=(\d+)/.exec(options)?.[1]
      const limit = c.resources?.limits?.memory
      if (!heap) {
        problems.push(`${where(w, c)}: NODE_OPTIONS does not set --max-old-space-size`)
        continue
      }
      if (limit === undefined) continue // assertResources reports it
      const heapBytes = Number(heap) * 2 ** 20
      const limitBytes = parseQuantity(limit)
      if (heapBytes > limitBytes * app.heapShare) {
        problems.push(
          `${where(w, c)}: --max-old-space-size=${heap} MiB is above ${app.heapShare * 100} % of the ${limit} limit`,
        )
      }
    }
  })
}

/** No pod gets a Kubernetes API token it does not use. */
export function assertNoServiceAccountToken(objects: readonly K8sObject[]): void {
  check('service account tokens must not be mounted', (problems) => {
    const accounts = ofKind<IServiceAccount>(objects, 'ServiceAccount')
    for (const w of workloads(objects)) {
      const spec = w.template.spec
      const name = spec?.serviceAccountName ?? 'default'
      const account = accounts.find((a) => a.metadata.name === name)
      if (name === 'default') problems.push(`${where(w)}: runs as the default ServiceAccount`)
      // The pod's own setting wins over its ServiceAccount's; unset on both means mounted.
      const mounted = spec?.automountServiceAccountToken ?? account?.automountServiceAccountToken ?? true
      if (mounted !== false) {
        problems.push(
          `${where(w)}: the token is mounted (set automountServiceAccountToken: false on the pod or on ServiceAccount ${name})`,
        )
      }
    }
  })
}

/** Workload selectors match their own pods; every Service selects some pods. */
export function assertSelectors(objects: readonly K8sObject[]): void {
  check('selectors must match pod labels', (problems) => {
    const all = workloads(objects)
    for (const w of all) {
      const selector = (w.object.spec as { selector?: unknown } | undefined)?.selector
      if (isObject(selector) && !selects(selector, w.template.metadata?.labels)) {
        problems.push(`${where(w)}: selector does not match its pod template labels`)
      }
    }
    for (const service of ofKind<IService>(objects, 'Service')) {
      const selector = service.spec?.selector
      if (!selector) continue
      if (!all.some((w) => selects({ matchLabels: selector }, w.template.metadata?.labels))) {
        problems.push(`${ref(service)}: selector ${JSON.stringify(selector)} matches no pod template`)
      }
    }
  })
}

function selectedBy(objects: readonly K8sObject[], selector: Record<string, string> | undefined): Workload[] {
  // A Service without a selector (or with an empty one) has hand-made endpoints, no pods.
  if (!selector || Object.keys(selector).length === 0) return []
  return workloads(objects).filter((w) => selects({ matchLabels: selector }, w.template.metadata?.labels))
}

/** Every Service port lands on a container port of every pod it selects. */
export function assertServiceTargetPorts(objects: readonly K8sObject[]): void {
  check('Service targetPorts must resolve to container ports', (problems) => {
    for (const service of ofKind<IService>(objects, 'Service')) {
      for (const w of selectedBy(objects, service.spec?.selector)) {
        for (const port of service.spec?.ports ?? []) {
          const target = port.targetPort ?? port.port
          if (!resolvePort(w, target)) {
            problems.push(
              `${ref(service)} port ${port.name ?? port.port}: targetPort ${target} is not a port of ${where(w)}`,
            )
          }
        }
      }
    }
  })
}

/**
 * Each IngressRoute service is a rendered Service whose port reaches the app's PORT (never the
 * metrics port), through a ServersTransport and Middlewares of the same namespace
 * (allowCrossNamespace is off).
 */
export function assertIngressRoutes(objects: readonly K8sObject[]): void {
  check('IngressRoutes must reach the API port', (problems) => {
    const services = ofKind<IService>(objects, 'Service')
    const middlewares = ofKind<IMiddleware>(objects, 'Middleware')
    const transports = ofKind<IServersTransport>(objects, 'ServersTransport')
    for (const route of ofKind<IIngressRoute>(objects, 'IngressRoute')) {
      const namespace = route.metadata.namespace
      for (const rule of route.spec.routes) {
        for (const m of rule.middlewares ?? []) {
          if (m.namespace && m.namespace !== namespace) {
            problems.push(`${ref(route)}: middleware ${m.name} is in another namespace (${m.namespace})`)
          } else if (!middlewares.some((x) => x.metadata.name === m.name)) {
            problems.push(`${ref(route)}: middleware ${m.name} is not rendered`)
          }
        }
        for (const target of rule.services ?? []) {
          if (target.kind === 'TraefikService') continue
          const at = `${ref(route)} -> service ${target.name}:${target.port}`
          const service = services.find((s) => s.metadata.name === target.name)
          if (!service) {
            problems.push(`${at}: no such Service`)
            continue
          }
          const port = service.spec?.ports?.find((p) => p.name === target.port || p.port === target.port)
          if (!port) {
            problems.push(`${at}: the Service has no such port`)
            continue
          }
          if (
            target.serversTransport &&
            !transports.some((t) => t.metadata.name === target.serversTransport)
          ) {
            problems.push(`${at}: ServersTransport ${target.serversTransport} is not rendered`)
          }
          for (const w of selectedBy(objects, service.spec?.selector)) {
            const resolved = resolvePort(w, port.targetPort ?? port.port)
            if (!resolved) continue // assertServiceTargetPorts reports it
            if (!isAppImage(resolved.container.image)) continue
            const appPort = numericSetting(objects, w, resolved.container, 'PORT')
            if (resolved.port.containerPort !== appPort) {
              problems.push(
                `${at}: lands on container port ${resolved.port.containerPort}, the app serves HTTP on ${appPort}`,
              )
            }
          }
        }
      }
    }
  })
}

type PolicyPort = { port?: string | number; protocol?: string }

/**
 * Ingress ports exist on the selected pods and every container port is reachable by some rule; the
 * API's egress is PostgreSQL and DNS only.
 */
export function assertNetworkPolicies(objects: readonly K8sObject[]): void {
  check('NetworkPolicy ports must match the container ports', (problems) => {
    const policies = ofKind<INetworkPolicy>(objects, 'NetworkPolicy')
    const guarding = (w: Workload) =>
      policies.filter((p) => selects(p.spec?.podSelector, w.template.metadata?.labels))
    for (const policy of policies) {
      const selected = workloads(objects).filter((w) => guarding(w).includes(policy))
      if (selected.length === 0) problems.push(`${ref(policy)}: podSelector matches no pod template`)
      const ports: PolicyPort[] = (policy.spec?.ingress ?? []).flatMap((rule) => rule.ports ?? [])
      for (const w of selected) {
        for (const p of ports) {
          if (!resolvePort(w, p.port))
            problems.push(`${ref(policy)}: ingress port ${p.port} is not a port of ${where(w)}`)
        }
      }
    }
    // Policies add up: a container port must be allowed by a rule of some policy guarding its pod.
    for (const w of workloads(objects)) {
      const own = guarding(w).filter((p) => p.spec?.policyTypes?.includes('Ingress') ?? true)
      if (own.length === 0) continue
      const rules = own.flatMap((p) => p.spec?.ingress ?? [])
      if (rules.some((rule) => !rule.ports?.length)) continue // a rule without ports allows every port
      const allowed: PolicyPort[] = rules.flatMap((rule) => rule.ports ?? [])
      for (const c of containers(w)) {
        for (const p of c.ports ?? []) {
          if (!allowed.some((x) => x.port === p.name || x.port === p.containerPort)) {
            problems.push(
              `${where(w, c)} port ${p.name ?? p.containerPort} is allowed by no NetworkPolicy rule`,
            )
          }
        }
      }
    }
    const allowedEgress = new Set(['5432/TCP', '53/UDP', '53/TCP'])
    for (const w of appWorkloads(objects)) {
      const own = guarding(w)
      if (
        !own.some((p) => p.spec?.policyTypes?.includes('Ingress') && p.spec.policyTypes.includes('Egress'))
      ) {
        problems.push(`${where(w)}: no NetworkPolicy restricts both its ingress and its egress`)
      }
      const egress = own.flatMap((p) => p.spec?.egress ?? [])
      const ports = new Set<string>()
      for (const rule of egress) {
        if (!rule.ports?.length) problems.push(`${where(w)}: an egress rule allows every port`)
        for (const p of rule.ports ?? []) ports.add(`${p.port}/${p.protocol ?? 'TCP'}`)
      }
      for (const p of ports)
        if (!allowedEgress.has(p)) problems.push(`${where(w)}: egress to ${p} is allowed`)
      for (const p of allowedEgress)
        if (!ports.has(p)) problems.push(`${where(w)}: egress to ${p} is not allowed`)
    }
  })
}

function hpaFor(
  objects: readonly K8sObject[],
  w: Workload,
): (K8sObject & IHorizontalPodAutoscaler) | undefined {
  return ofKind<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler').find(
    (h) =>
      h.spec?.scaleTargetRef.kind === w.object.kind && h.spec.scaleTargetRef.name === w.object.metadata.name,
  )
}

/**
 * Each HPA scales a rendered workload, which leaves the replica count to it, on a metric its pods can
 * report.
 */
export function assertAutoscaling(objects: readonly K8sObject[]): void {
  check('HorizontalPodAutoscalers must target a scalable workload', (problems) => {
    for (const hpa of ofKind<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler')) {
      const target = hpa.spec?.scaleTargetRef
      const w = workloads(objects).find(
        (x) => x.object.kind === target?.kind && x.object.metadata.name === target?.name,
      )
      if (!w) {
        problems.push(`${ref(hpa)}: target ${target?.kind}/${target?.name} is not rendered`)
        continue
      }
      const min = hpa.spec?.minReplicas ?? 1
      if (min > (hpa.spec?.maxReplicas ?? 0)) {
        problems.push(`${ref(hpa)}: minReplicas ${min} is above maxReplicas`)
      }
      const replicas = (w.object.spec as { replicas?: number } | undefined)?.replicas
      if (replicas !== undefined) {
        problems.push(
          `${where(w)}: sets replicas (${replicas}) although ${ref(hpa)} owns the count: every apply resets it`,
        )
      }
      for (const metric of hpa.spec?.metrics ?? []) {
        const resource = metric.resource?.name
        if (metric.type !== 'Resource' || !resource || metric.resource?.target.type !== 'Utilization')
          continue
        for (const c of containers(w)) {
          if (c.resources?.requests?.[resource] === undefined) {
            problems.push(
              `${ref(hpa)}: ${where(w, c)} has no ${resource} request, so ${resource} utilization is undefined`,
            )
          }
        }
      }
    }
    for (const w of appWorkloads(objects)) {
      if (!hpaFor(objects, w)) problems.push(`${where(w)}: no HorizontalPodAutoscaler targets it`)
    }
  })
}

/**
 * At the HPA minimum the PodDisruptionBudget still lets one pod go (a drain is never blocked) and
 * keeps one serving.
 */
export function assertDisruptionBudget(objects: readonly K8sObject[]): void {
  check('the PodDisruptionBudget must be satisfiable at the HPA minimum', (problems) => {
    const budgets = ofKind<IPodDisruptionBudget>(objects, 'PodDisruptionBudget')
    for (const w of appWorkloads(objects)) {
      const min =
        hpaFor(objects, w)?.spec?.minReplicas ?? (w.object.spec as { replicas?: number }).replicas ?? 1
      const pdb = budgets.find((b) => selects(b.spec?.selector, w.template.metadata?.labels))
      if (!pdb) {
        problems.push(`${where(w)}: no PodDisruptionBudget selects its pods`)
        continue
      }
      const { maxUnavailable, minAvailable } = pdb.spec ?? {}
      if (maxUnavailable !== undefined) {
        const n = scaled(maxUnavailable, min, 0)
        if (n < 1)
          problems.push(`${ref(pdb)}: maxUnavailable ${maxUnavailable} at ${min} replicas blocks every drain`)
        else if (min - n < 1)
          problems.push(`${ref(pdb)}: maxUnavailable ${maxUnavailable} at ${min} replicas lets every pod go`)
      } else if (minAvailable !== undefined) {
        const n = scaled(minAvailable, min, 0)
        if (n >= min)
          problems.push(`${ref(pdb)}: minAvailable ${minAvailable} at ${min} replicas blocks every drain`)
        else if (n < 1) problems.push(`${ref(pdb)}: minAvailable ${minAvailable} lets every pod go`)
      } else {
        problems.push(`${ref(pdb)}: sets neither maxUnavailable nor minAvailable`)
      }
    }
  })
}

function maxConnections(
  objects: readonly K8sObject[],
  w: Workload,
): { value: number; source: string } | undefined {
  for (const db of workloads(objects)) {
    for (const c of containers(db)) {
      if (!/(^|\/)postgres(:|@|$)/.test(c.image ?? '')) continue
      const args = [...(c.command ?? []), ...(c.args ?? [])].join(' ')
      const value = /max_connections=(\d+)/.exec(args)?.[1]
      return value ? { value: Number(value), source: where(db, c) } : undefined
    }
  }
  const annotation = w.object.metadata.annotations?.[app.maxConnectionsAnnotation]
  return annotation
    ? { value: Number(annotation), source: `${app.maxConnectionsAnnotation} on ${where(w)}` }
    : undefined
}

/**
 * At the HPA maximum, during a rollout, every pod's pool plus a migrator per pod being started must
 * fit in 80 % of PostgreSQL's max_connections. Conservative on purpose: each migrator is counted as
 * if it ran alongside a full pool.
 */
export function assertConnectionBudget(objects: readonly K8sObject[]): void {
  check("the API's connections must fit PostgreSQL's max_connections", (problems) => {
    for (const w of appWorkloads(objects)) {
      const hpa = hpaFor(objects, w)
      const deployment = w.object as K8sObject & IDeployment
      const maxReplicas = hpa?.spec?.maxReplicas ?? deployment.spec?.replicas ?? 1
      const surge = scaled(
        deployment.spec?.strategy?.rollingUpdate?.maxSurge,
        maxReplicas,
        Math.ceil(maxReplicas / 4),
      )
      const pods = maxReplicas + surge
      const pool = numericSetting(objects, w, w.container, 'DATABASE_POOL_MAX')
      const migrators = initContainers(w).some(
        (c) => JSON.stringify(c.command) === JSON.stringify(app.migrateCommand),
      )
        ? pods * app.migratorConnections
        : 0
      const limit = maxConnections(objects, w)
      if (!limit) {
        problems.push(
          `${where(w)}: max_connections is unknown: set it on the PostgreSQL container ` +
            `(-c max_connections=N) or annotate the workload with ${app.maxConnectionsAnnotation}`,
        )
        continue
      }
      const needed = pods * pool + migrators
      const allowed = Math.floor(limit.value * app.connectionShare)
      if (needed > allowed) {
        problems.push(
          `${where(w)}: (${maxReplicas} max replicas + ${surge} surge) x ${pool} pool + ${migrators} migrators = ` +
            `${needed} connections, above ${allowed} (${app.connectionShare * 100} % of max_connections ` +
            `${limit.value} from ${limit.source})`,
        )
      }
    }
  })
}

/**
 * Traefik must close idle upstream connections before Node does (keepAliveTimeout), or it races the
 * app and returns 502s; the default ServersTransport keeps them 90 s, so a route must name one.
 */
export function assertProxyTimeouts(objects: readonly K8sObject[]): void {
  check("Traefik's upstream timeouts must fit the app's", (problems) => {
    const services = ofKind<IService>(objects, 'Service')
    const transports = ofKind<IServersTransport>(objects, 'ServersTransport')
    for (const route of ofKind<IIngressRoute>(objects, 'IngressRoute')) {
      for (const target of route.spec.routes.flatMap((r) => r.services ?? [])) {
        const service = services.find((s) => s.metadata.name === target.name)
        const w = service
          ? appWorkloads(objects).find((x) =>
              selectedBy(objects, service.spec?.selector).some((y) => y.object === x.object),
            )
          : undefined
        if (!w) continue
        const at = `${ref(route)} -> ${target.name}`
        const transport = transports.find((t) => t.metadata.name === target.serversTransport)
        if (!transport) {
          problems.push(
            `${at}: uses no rendered ServersTransport, so Traefik's default idle timeout (90 s) applies`,
          )
          continue
        }
        const keepAlive = numericSetting(objects, w, w.container, 'KEEP_ALIVE_TIMEOUT_MS')
        const timeouts = transport.spec?.forwardingTimeouts
        const idle =
          timeouts?.idleConnTimeout === undefined ? 90_000 : parseDuration(timeouts.idleConnTimeout)
        if (idle >= keepAlive) {
          problems.push(
            `${ref(transport)}: idleConnTimeout ${idle} ms is not below KEEP_ALIVE_TIMEOUT_MS ${keepAlive} ms`,
          )
        }
        if (timeouts?.responseHeaderTimeout !== undefined) {
          const header = parseDuration(timeouts.responseHeaderTimeout)
          const request = numericSetting(objects, w, w.container, 'REQUEST_TIMEOUT_MS')
          if (header !== 0 && header <= request) {
            problems.push(
              `${ref(transport)}: responseHeaderTimeout ${header} ms cuts requests before REQUEST_TIMEOUT_MS ${request} ms`,
            )
          }
        }
      }
    }
  })
}

/** Every check over a rendered overlay, by name. */
export const assertions: Record<string, Assertion> = {
  assertImagesPinned,
  assertProbesPresent,
  assertResources,
  assertSecurityContext,
  assertAppPorts,
  assertAppProbes,
  assertGracePeriod,
  assertReadinessWithinDrainDelay,
  assertZeroDowntimeRollout,
  assertMigrationsBeforeApp,
  assertSecretFiles,
  assertHeapFitsMemoryLimit,
  assertNoServiceAccountToken,
  assertSelectors,
  assertServiceTargetPorts,
  assertIngressRoutes,
  assertNetworkPolicies,
  assertAutoscaling,
  assertDisruptionBudget,
  assertConnectionBudget,
  assertProxyTimeouts,
}
