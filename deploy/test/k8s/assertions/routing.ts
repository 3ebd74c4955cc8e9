import type { IIngressRoute } from '@kubernetes-models/traefik/traefik.io/v1alpha1/IngressRoute'
import type { IMiddleware } from '@kubernetes-models/traefik/traefik.io/v1alpha1/Middleware'
import type { IServersTransport } from '@kubernetes-models/traefik/traefik.io/v1alpha1/ServersTransport'
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import type { IService } from 'kubernetes-models/v1/Service'
import { apps } from '../../apps.js'
import { isObject, type K8sObject, ofKind, ref } from '../objects.js'
import {
  appWorkloads,
  containers,
  isAppImage,
  numericSetting,
  parseDuration,
  resolvePort,
  selects,
  type Workload,
  where,
  workloads,
} from '../workloads.js'
import { check } from './check.js'
import { issuerEgressPorts, issuerTarget } from './issuer-target.js'

// How traffic reaches the pods: selectors, Service and IngressRoute ports, NetworkPolicies, and
// Traefik's upstream timeouts.

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

/**
 * Every service in apps/ is deployed and reachable: a workload runs its image, a Service selects those
 * pods, and an IngressRoute sends traffic to that Service (`pnpm new-service` adds all three).
 */
export function assertEveryAppDeployed(objects: readonly K8sObject[]): void {
  check('every service in apps/ must be deployed and routed', (problems) => {
    const services = ofKind<IService>(objects, 'Service')
    const routed = new Set(
      ofKind<IIngressRoute>(objects, 'IngressRoute').flatMap((route) =>
        route.spec.routes.flatMap((r) =>
          (r.services ?? []).filter((t) => t.kind !== 'TraefikService').map((t) => t.name),
        ),
      ),
    )
    const running = appWorkloads(objects)
    for (const app of apps) {
      const own = running.filter((w) => w.app.name === app.name)
      if (own.length === 0) problems.push(`${app.name}: no workload runs ${app.image}`)
      for (const w of own) {
        const selecting = services.filter((s) =>
          selectedBy(objects, s.spec?.selector).some((x) => x.object === w.object),
        )
        if (selecting.length === 0) problems.push(`${where(w)}: no Service selects its pods`)
        else if (!selecting.some((s) => routed.has(s.metadata.name))) {
          problems.push(`${where(w)}: no IngressRoute routes to ${selecting.map(ref).join(' or ')}`)
        }
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
 * Ingress ports exist on the selected pods and every container port is reachable by some rule; a
 * service's egress is DNS, PostgreSQL when it has a database and HTTPS when it verifies tokens,
 * nothing else.
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
    for (const w of appWorkloads(objects)) {
      // PostgreSQL only for a service with a database; DNS for all. With authentication on, the
      // identity provider's port (443, or the port of an issuer Service of the namespace): to the
      // provider only, which assertIssuerEgress checks (and requires).
      const allowedEgress = new Set([...(w.app.database ? ['5432/TCP'] : []), '53/UDP', '53/TCP'])
      const issuerEgress = issuerEgressPorts(issuerTarget(objects, w))
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
        if (!allowedEgress.has(p) && !issuerEgress.includes(p))
          problems.push(`${where(w)}: egress to ${p} is allowed`)
      for (const p of allowedEgress)
        if (!ports.has(p)) problems.push(`${where(w)}: egress to ${p} is not allowed`)
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

/**
 * Every route of every IngressRoute is rate limited per client: it names a Middleware of its
 * namespace whose rateLimit has a positive average and burst (Traefik's 0 average means no limit),
 * and groups by client IP (no requestHost / requestHeaderName criterion, which would make one
 * bucket per host or per header value).
 */
export function assertRateLimited(objects: readonly K8sObject[]): void {
  check('IngressRoutes must be rate limited per client IP', (problems) => {
    const middlewares = ofKind<IMiddleware>(objects, 'Middleware')
    for (const route of ofKind<IIngressRoute>(objects, 'IngressRoute')) {
      for (const [index, rule] of route.spec.routes.entries()) {
        const limits = (rule.middlewares ?? [])
          .map((m) => middlewares.find((x) => x.metadata.name === m.name)?.spec?.rateLimit)
          .filter(isObject)
        if (limits.length === 0) {
          problems.push(`${ref(route)}: route ${index} names no rateLimit Middleware`)
          continue
        }
        for (const limit of limits) {
          if (!(Number(limit.average) > 0))
            problems.push(`${ref(route)}: route ${index}: rateLimit.average is not above 0`)
          if (!(Number(limit.burst) > 0))
            problems.push(`${ref(route)}: route ${index}: rateLimit.burst is not above 0`)
          const criterion = limit.sourceCriterion
          if (isObject(criterion) && (criterion.requestHost || criterion.requestHeaderName)) {
            problems.push(
              `${ref(route)}: route ${index}: rateLimit groups by host or header, not by client IP`,
            )
          }
        }
      }
    }
  })
}
