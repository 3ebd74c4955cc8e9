import { appOfImage, isDevIssuerImage } from '../apps.js'
import { isObject, type K8sObject } from './objects.js'
import { containers, initContainers, workloads } from './workloads.js'

// Values only the operator can give: the registry the production images come from and the address
// Let's Encrypt writes to. The repository carries marked placeholders for them, under the reserved
// .invalid name (RFC 6761: it never resolves, so a forgotten one fails to pull or to register
// instead of doing something wrong). These checks refuse the placeholders, and the defects they
// replaced, by name.

/** Domains reserved for documentation and tests (RFC 2606, RFC 6761): nobody's registry or mailbox. */
const RESERVED = /(^|\.)(example(\.(com|net|org))?|invalid|test|localhost|local)$/i

/** The registry host of an image reference, or undefined for Docker Hub (`stack/api`, `docker.io/...`). */
export function registryOf(image: string): string | undefined {
  const first = image.split('/')[0] ?? ''
  const isHost = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
  if (!isHost || /^(index\.)?docker\.io$/.test(first)) return undefined
  return first
}

/** Every image of a service in apps/ comes from a registry the operator set, not Docker Hub or a placeholder. */
export function productionImageProblems(objects: readonly K8sObject[]): string[] {
  const problems = new Set<string>()
  for (const w of workloads(objects)) {
    for (const c of [...initContainers(w), ...containers(w)]) {
      const image = c.image ?? ''
      if (!appOfImage(image)) continue
      const registry = registryOf(image)
      if (!registry) {
        problems.add(
          `${image}: no registry, so Docker Hub, whose namespace ${image.split('/').at(-2) ?? '(library)'} this project does not own; set yours as newName on its line in the overlay's images:`,
        )
      } else if (RESERVED.test(registry.replace(/:\d+$/, ''))) {
        problems.add(
          `${image}: ${registry} is a placeholder; set your registry as newName on its line in the overlay's images: (<registry>/${appOfImage(image)?.image})`,
        )
      }
    }
  }
  return [...problems]
}

/** Each ACME resolver of the Traefik Helm values has a real e-mail address (Let's Encrypt refuses reserved domains). */
export function acmeEmailProblems(values: Record<string, unknown>): string[] {
  const resolvers = values.certificatesResolvers
  if (!isObject(resolvers)) return []
  return Object.entries(resolvers).flatMap(([name, resolver]) => {
    const acme = isObject(resolver) ? resolver.acme : undefined
    if (!isObject(acme)) return []
    const key = `certificatesResolvers.${name}.acme.email`
    const email = typeof acme.email === 'string' ? acme.email.trim() : ''
    const domain = /^[^@\s]+@([^@\s]+)$/.exec(email)?.[1]
    if (!domain) return [`${key} ${email ? `"${email}" is not an address` : 'is not set'}`]
    return RESERVED.test(domain)
      ? [`${key} ${email} is a placeholder Let's Encrypt refuses (forbidden domain); set your own address`]
      : []
  })
}

/**
 * Every service's container verifies tokens from a real provider: AUTH_ISSUER (its env, or a
 * ConfigMap it takes envFrom) an https URL on a name that is not reserved (the placeholder, `pnpm
 * dev`'s loopback issuer, the dev overlay's http://dev-issuer:3000), and an AUTH_AUDIENCE; and the
 * development issuer (deploy/k8s/dev-issuer) does not run.
 */
export function productionAuthProblems(objects: readonly K8sObject[]): string[] {
  const configMaps = new Map(
    objects
      .filter((o) => o.kind === 'ConfigMap')
      .map((o) => [
        o.metadata.name,
        ((o as { data?: Record<string, string> }).data ?? {}) as Record<string, string>,
      ]),
  )
  const problems: string[] = []
  for (const w of workloads(objects)) {
    const where = `${w.object.kind.toLowerCase()}/${w.object.metadata.name}`
    if (containers(w).some((c) => isDevIssuerImage(c.image)))
      problems.push(
        `${where}: the development issuer runs in production (a key anyone with kubectl exec signs with); the prod overlay must not list deploy/k8s/dev-issuer`,
      )
    const container = containers(w)[0]
    if (!container || !appOfImage(container.image ?? '')) continue
    const fromMaps = Object.assign(
      {},
      ...(container.envFrom ?? []).map((e) => configMaps.get(e.configMapRef?.name ?? '') ?? {}),
    ) as Record<string, string>
    const env = new Map((container.env ?? []).map((e) => [e.name, e]))
    const issuer = env.get('AUTH_ISSUER')?.value ?? fromMaps.AUTH_ISSUER
    const audience = env.get('AUTH_AUDIENCE') ?? fromMaps.AUTH_AUDIENCE
    let url: URL | undefined
    try {
      url = issuer ? new URL(issuer) : undefined
    } catch {}
    if (!issuer) problems.push(`${where}: AUTH_ISSUER is not set: authentication is off`)
    else if (
      url?.protocol !== 'https:' ||
      RESERVED.test(url.hostname) ||
      /^(127\.|\[::1\])/.test(url.hostname)
    )
      problems.push(
        `${where}: AUTH_ISSUER ${issuer} is a placeholder, not a provider's https issuer URL; set it in the overlay's auth ConfigMap`,
      )
    if (!audience) problems.push(`${where}: AUTH_AUDIENCE is not set`)
  }
  return problems
}
