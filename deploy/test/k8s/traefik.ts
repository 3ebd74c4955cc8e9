import { readFileSync } from 'node:fs'
import type { IIngressRoute } from '@kubernetes-models/traefik/traefik.io/v1alpha1/IngressRoute'
import { parse } from 'yaml'
import { ManifestError } from './assertions/check.js'
import { isObject, type K8sObject, k8sDir, ofKind, ref } from './objects.js'
import { parseDuration } from './workloads.js'

export const traefikValuesPath = `${k8sDir}traefik/values.yaml`

/** The Helm values Traefik is installed with; kustomize never renders them, so parse them as YAML here. */
export function loadTraefikValues(path = traefikValuesPath): Record<string, unknown> {
  const values: unknown = parse(readFileSync(path, 'utf8'))
  if (!isObject(values)) throw new Error(`${path} is not a YAML mapping`)
  return values
}

function at(values: unknown, path: string): unknown {
  let node = values
  for (const key of path.split('.')) node = isObject(node) ? node[key] : undefined
  return node
}

/**
 * The names the API's manifests rely on exist in Traefik's values (entryPoints, ACME resolver), and
 * the settings the README promises are there: HTTP redirected to HTTPS, no cross-namespace
 * references, JSON logs, ACME state on a volume, one replica while ACME state is a file, and a
 * grace period that covers the entryPoints' own shutdown.
 */
export function assertTraefikValues(values: Record<string, unknown>, objects: readonly K8sObject[]): void {
  const problems: string[] = []
  const ports = at(values, 'ports')
  const resolvers = at(values, 'certificatesResolvers')
  for (const route of ofKind<IIngressRoute>(objects, 'IngressRoute')) {
    for (const entryPoint of route.spec.entryPoints ?? []) {
      if (!isObject(ports) || !(entryPoint in ports))
        problems.push(`${ref(route)}: entryPoint ${entryPoint} is not in ports`)
    }
    const resolver = route.spec.tls?.certResolver
    if (resolver && (!isObject(resolvers) || !(resolver in resolvers))) {
      problems.push(`${ref(route)}: certResolver ${resolver} is not in certificatesResolvers`)
    }
  }

  const redirect = at(values, 'ports.web.http.redirections.entryPoint')
  if (!isObject(redirect) || redirect.to !== 'websecure' || redirect.scheme !== 'https') {
    problems.push('ports.web.http.redirections.entryPoint does not redirect to websecure over https')
  }
  if (at(values, 'ports.websecure.http.tls.enabled') !== true)
    problems.push('ports.websecure.http.tls.enabled is not true')
  if (at(values, 'providers.kubernetesCRD.allowCrossNamespace') !== false) {
    problems.push('providers.kubernetesCRD.allowCrossNamespace is not false')
  }
  if (at(values, 'logs.access.enabled') !== true || at(values, 'logs.access.format') !== 'json') {
    problems.push('access logs are not enabled as JSON (logs.access)')
  }
  if (at(values, 'logs.general.format') !== 'json') problems.push('logs.general.format is not json')
  // Cluster (Kubernetes' default) SNATs every connection through another node: Traefik, and the API
  // behind it, would see a node's address instead of the client's.
  if (at(values, 'service.spec.externalTrafficPolicy') !== 'Local') {
    problems.push(
      "service.spec.externalTrafficPolicy is not Local: Traefik sees a node's address instead of the client's",
    )
  }
  if (!isObject(at(values, 'metrics.prometheus'))) problems.push('metrics.prometheus is not configured')

  if (isObject(resolvers)) {
    const dataPath = String(at(values, 'persistence.path') ?? '/data')
    for (const [name, resolver] of Object.entries(resolvers)) {
      const storage = at(resolver, 'acme.storage')
      if (storage === undefined) continue
      if (at(values, 'persistence.enabled') !== true || !String(storage).startsWith(`${dataPath}/`)) {
        problems.push(
          `certificatesResolvers.${name}.acme.storage ${storage} is not on the persistent volume (${dataPath})`,
        )
      }
      if (at(values, 'deployment.replicas') !== 1) {
        problems.push(
          `certificatesResolvers.${name} keeps ACME state in a file: deployment.replicas must be 1`,
        )
      }
    }
  }

  const grace = Number(at(values, 'deployment.terminationGracePeriodSeconds') ?? 60) * 1000
  for (const [name, port] of Object.entries(isObject(ports) ? ports : {})) {
    const accept = at(port, 'transport.lifeCycle.requestAcceptGraceTimeout')
    const drain = at(port, 'transport.lifeCycle.graceTimeOut')
    const total =
      (typeof accept === 'string' || typeof accept === 'number' ? parseDuration(accept) : 0) +
      (typeof drain === 'string' || typeof drain === 'number' ? parseDuration(drain) : 10_000)
    if (total >= grace) {
      problems.push(
        `ports.${name}: requestAcceptGraceTimeout + graceTimeOut (${total} ms) is not below the grace period (${grace} ms)`,
      )
    }
  }
  if (problems.length > 0)
    throw new ManifestError('Traefik values must provide what the manifests use', problems)
}
