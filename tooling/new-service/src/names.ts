/** Every name a service is known by, derived once from the name given on the command line. */
export interface ServiceNames {
  /** The DNS-1123 label given: directory, compose service, Kubernetes objects, router, log `service`. */
  name: string
  /** The workspace package. */
  packageName: string
  /** Prefix of its variables (`ORDERS` -> ORDERS_HOST, ORDERS_TAG): upper-cased, `-` as `_`. */
  envPrefix: string
}

export const MAX_NAME_LENGTH = 40

/**
 * Names the stack already uses for something else, or that would read as something else: the API,
 * the proxy, the database, the migrator, the project (`stack`, also the `stack` database and user),
 * and Kubernetes' own.
 */
export const RESERVED = new Set([
  'api',
  'postgres',
  'traefik',
  'migrate',
  'createdb',
  'stack',
  'default',
  'kubernetes',
  'monitoring',
])

/** A Kubernetes Service name: a DNS-1123 label that starts with a letter (RFC 1035). */
const LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/

/** Why `name` cannot be a service name, or undefined when it can (taken names are checked elsewhere). */
export function nameProblem(name: string): string | undefined {
  if (!LABEL.test(name) || name.length > MAX_NAME_LENGTH) {
    return (
      `"${name}" is not a DNS-1123 label: lowercase letters, digits and "-", starting with a letter, ` +
      `not ending with "-", at most ${MAX_NAME_LENGTH} characters`
    )
  }
  if (RESERVED.has(name)) return `"${name}" is reserved: the stack already uses it`
  return undefined
}

export function serviceNames(name: string): ServiceNames {
  return { name, packageName: `@stack/${name}`, envPrefix: name.toUpperCase().replaceAll('-', '_') }
}
