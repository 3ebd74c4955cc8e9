import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment'
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import { app } from '../app.js'
import { type K8sObject, ofKind, ref } from '../objects.js'
import {
  appWorkloads,
  containers,
  initContainers,
  numericSetting,
  scaled,
  selects,
  type Workload,
  where,
  workloads,
} from '../workloads.js'
import { check } from './check.js'

// How many pods there may be, how many may go at once, and what they cost the database.

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
): { value: number; source: string; shared: boolean } | undefined {
  for (const db of workloads(objects)) {
    for (const c of containers(db)) {
      if (!/(^|\/)postgres(:|@|$)/.test(c.image ?? '')) continue
      const args = [...(c.command ?? []), ...(c.args ?? [])].join(' ')
      const value = /max_connections=(\d+)/.exec(args)?.[1]
      return value ? { value: Number(value), source: where(db, c), shared: true } : undefined
    }
  }
  const annotation = w.object.metadata.annotations?.[app.maxConnectionsAnnotation]
  if (annotation)
    return {
      value: Number(annotation),
      source: `${app.maxConnectionsAnnotation} on ${where(w)}`,
      shared: false,
    }
  // The environment's database tier, for every service of the namespace (the prod overlay's).
  const namespace = ofKind(objects, 'Namespace').find((n) => n.metadata.name === w.object.metadata.namespace)
  const declared = namespace?.metadata.annotations?.[app.maxConnectionsAnnotation]
  return declared && namespace
    ? {
        value: Number(declared),
        source: `${app.maxConnectionsAnnotation} on ${ref(namespace)}`,
        shared: false,
      }
    : undefined
}

/**
 * At the HPA maximum, during a rollout, every pod's pool plus a migrator per pod being started must
 * fit in 80 % of PostgreSQL's max_connections. Conservative on purpose: each migrator is counted as
 * if it ran alongside a full pool. The services a rendered PostgreSQL serves add up (each has its own
 * database, all on that one server); a workload annotated with a managed database's max_connections,
 * on itself or on its Namespace (the overlay's database tier), is held to it alone: the annotation is
 * the capacity of the server its database is on, or its share.
 */
export function assertConnectionBudget(objects: readonly K8sObject[]): void {
  check("each service's connections must fit PostgreSQL's max_connections", (problems) => {
    const servers = new Map<
      string,
      { limit: { value: number; source: string }; users: { w: Workload; term: string; needed: number }[] }
    >()
    for (const w of appWorkloads(objects)) {
      if (!w.app.database) continue
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
            `(-c max_connections=N) or annotate the workload or its Namespace with ${app.maxConnectionsAnnotation}`,
        )
        continue
      }
      const key = limit.shared ? limit.source : `${limit.source} (${ref(w.object)})`
      const server = servers.get(key) ?? { limit, users: [] }
      server.users.push({
        w,
        term: `(${maxReplicas} max replicas + ${surge} surge) x ${pool} pool + ${migrators} migrators`,
        needed: pods * pool + migrators,
      })
      servers.set(key, server)
    }
    for (const { limit, users } of servers.values()) {
      const needed = users.reduce((sum, u) => sum + u.needed, 0)
      const allowed = Math.floor(limit.value * app.connectionShare)
      if (needed > allowed) {
        const who = users.map((u) => where(u.w)).join(' + ')
        const terms = users.length === 1 ? users[0]?.term : users.map((u) => `[${u.term}]`).join(' + ')
        problems.push(
          `${who}: ${terms} = ${needed} connections, above ${allowed} (${app.connectionShare * 100} % of max_connections ` +
            `${limit.value} from ${limit.source})`,
        )
      }
    }
  })
}
