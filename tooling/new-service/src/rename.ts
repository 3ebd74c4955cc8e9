import type { ServiceNames } from './names.ts'
import { type Node, renameValues } from './yaml.ts'

/** What a service is called and where it listens; the API's is read from the repository. */
export interface Identity {
  name: string
  envPrefix: string
  port: number
  metricsPort: number
}

export interface Renaming {
  /** The API's names and ports in `text` as the new service's. */
  text(text: string): string
  /** The same over every value (not key), alias and anchor of a YAML node, in place. */
  node(node: Node): void
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * From the API to the new service: the name as a word of its own (`api`, `api-config`, `stack/api`,
 * `api@file`, `Host(\`api.localhost\`)`, `/run/secrets/api/...`, but not `apiVersion` or `rapid`), the
 * compose variables (`API_TAG` -> `ORDERS_TAG`), and the two ports as whole numbers (3000 but not 30000).
 */
export function renaming(
  from: Identity,
  to: Identity | (ServiceNames & { port: number; metricsPort: number }),
): Renaming {
  const word = new RegExp(`(?<![A-Za-z0-9])${escapeRegExp(from.name)}(?![A-Za-z0-9])`, 'g')
  const variable = new RegExp(`(?<![A-Za-z0-9_])${escapeRegExp(from.envPrefix)}_`, 'g')
  // Compose's `${API_HOST:?set API_HOST to the public name of the API}`.
  const prose = new RegExp(`\\bthe ${escapeRegExp(from.envPrefix)}\\b`, 'g')
  const ports = new Map([
    [from.port, to.port],
    [from.metricsPort, to.metricsPort],
  ])
  const portPatterns = [...ports].map(
    ([a, b]) => [new RegExp(`(?<![0-9])${a}(?![0-9])`, 'g'), String(b)] as const,
  )
  const text = (value: string) => {
    let out = value.replace(word, to.name).replace(variable, `${to.envPrefix}_`).replace(prose, to.name)
    for (const [pattern, replacement] of portPatterns) out = out.replace(pattern, replacement)
    return out
  }
  return { text, node: (node) => renameValues(node, text, ports) }
}
