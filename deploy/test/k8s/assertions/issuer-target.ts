import type { IContainerPort } from 'kubernetes-models/v1/ContainerPort'
import type { IService } from 'kubernetes-models/v1/Service'
import { type K8sObject, ofKind, ref } from '../objects.js'
import {
  type AppWorkload,
  configuredSetting,
  resolvePort,
  selects,
  type Workload,
  workloads,
} from '../workloads.js'

/** The port a provider outside the namespace serves HTTPS on, as a NetworkPolicy sees it (the pods' port). */
export const issuerPort = '443/TCP'

/**
 * Where a service's AUTH_ISSUER is, as its NetworkPolicy must reach it. `outside`: a provider at
 * public addresses or in another namespace, on 443. `service`: a Service rendered in the service's
 * own namespace (the dev overlay's http://dev-issuer:3000), reached at the pods that Service selects
 * on the container port its port lands on; `problem` says why that port cannot be found.
 */
export type IssuerTarget =
  | { kind: 'outside'; issuer: string }
  | {
      kind: 'service'
      issuer: string
      service: K8sObject & IService
      pods: Workload[]
      port?: IContainerPort
      problem?: string
    }

/** The names a Service `name` in `namespace` answers to from a pod of that namespace. */
function localNames(name: string, namespace: string | undefined): string[] {
  const names = [name]
  if (namespace)
    names.push(`${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`)
  return names
}

/** The Service of the workload's namespace a URL names, if any. */
function namedService(
  objects: readonly K8sObject[],
  w: Workload,
  url: URL,
): (K8sObject & IService) | undefined {
  const namespace = w.object.metadata.namespace
  const host = url.hostname.toLowerCase().replace(/\.$/, '')
  return ofKind<IService>(objects, 'Service').find(
    (s) => s.metadata.namespace === namespace && localNames(s.metadata.name, namespace).includes(host),
  )
}

/** Where AUTH_ISSUER points, or undefined when the service does not verify tokens. */
export function issuerTarget(objects: readonly K8sObject[], w: AppWorkload): IssuerTarget | undefined {
  const issuer = configuredSetting(objects, w, w.container, 'AUTH_ISSUER')
  if (!issuer) return undefined
  let url: URL
  try {
    url = new URL(issuer)
  } catch {
    // The prod placeholder: not a URL, so no Service; the service exits at start anyway.
    return { kind: 'outside', issuer }
  }
  const service = namedService(objects, w, url)
  if (!service) return { kind: 'outside', issuer }
  const selector = service.spec?.selector
  const pods = selector
    ? workloads(objects).filter((p) => selects({ matchLabels: selector }, p.template.metadata?.labels))
    : []
  const number = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
  const servicePort = service.spec?.ports?.find((p) => p.port === number)
  const target = { kind: 'service' as const, issuer, service, pods }
  if (pods.length === 0) return { ...target, problem: `${ref(service)} selects no pod template` }
  if (!servicePort) return { ...target, problem: `${ref(service)} has no port ${number}` }
  const landed = resolvePort(pods[0] as Workload, servicePort.targetPort ?? servicePort.port)
  if (!landed)
    return { ...target, problem: `${ref(service)} port ${number} lands on no container port of its pods` }
  return { ...target, port: landed.port }
}

/** The egress ports (`<port>/<protocol>`, by number or name) that reach the issuer. */
export function issuerEgressPorts(target: IssuerTarget | undefined): string[] {
  if (!target) return []
  if (target.kind === 'outside') return [issuerPort]
  const port = target.port
  if (!port) return []
  const protocol = port.protocol ?? 'TCP'
  return [`${port.containerPort}/${protocol}`, ...(port.name ? [`${port.name}/${protocol}`] : [])]
}
