import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { ServiceNames } from './names.ts'
import { deployFiles, packageNames, type Repo } from './repo.ts'

/**
 * The names a YAML file defines, read line by line rather than parsed: compose's services, networks,
 * volumes and secrets (keys at the second level: `  api:`, `  edge: {}`), and Kubernetes' object, generator,
 * container and port names (`name: api`, `- name: api-config`). It reads more than the names that
 * matter (`  labels:`, a port named `http`): a service may be refused a name that would not clash,
 * never given one that does.
 */
export function definedNames(text: string): Set<string> {
  const names = new Set<string>()
  for (const line of text.split('\n')) {
    const key = /^ {2}([-\w.]+):(\s|$)/.exec(line)?.[1]
    const name = /^\s*(?:- )?name:\s*["']?([-\w.]+)["']?\s*(#.*)?$/.exec(line)?.[1]
    for (const found of [key, name]) if (found) names.add(found)
  }
  return names
}

/** The `${VARIABLE}`s a file interpolates. */
function variables(text: string): Set<string> {
  return new Set([...text.matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1] as string))
}

/**
 * Why the new service's names clash with what the repository has, or undefined: its directory, its
 * package, a file it would write outside its directory, a name its deploy files would define
 * (`orders`, `migrate-orders`, `orders-config`) or a variable they would read (`ORDERS_HOST`) that
 * some deploy file already uses.
 */
export function takenProblem(
  repo: Repo,
  names: ServiceNames,
  rendered: Map<string, string>,
): string | undefined {
  const dir = `apps/${names.name}`
  if (existsSync(join(repo.root, dir))) return `"${names.name}" is already used in ${dir}`
  const pkg = packageNames(repo).get(names.packageName)
  if (pkg) return `"${names.packageName}" is already used in ${pkg}`
  const existing = [...rendered.keys()].find((path) => repo.files.includes(path))
  if (existing) return `${existing} exists`

  const word = new RegExp(`(^|-)${names.name}(-|$)`)
  const wanted = new Set<string>()
  const wantedVariables = new Set<string>()
  for (const [path, text] of rendered) {
    if (!/\.ya?ml$/.test(path)) continue
    for (const name of definedNames(text)) if (word.test(name)) wanted.add(name)
    for (const variable of variables(text)) {
      if (variable.startsWith(`${names.envPrefix}_`)) wantedVariables.add(variable)
    }
  }
  for (const file of deployFiles(repo)) {
    const text = repo.read(file)
    const defined = definedNames(text)
    const name = [...wanted].find((n) => defined.has(n))
    if (name) return `"${name}" is already used in ${file}`
    const variable = [...wantedVariables].find((v) => new RegExp(`\\b${v}\\b`).test(text))
    if (variable) return `the variable ${variable} is already used in ${file}`
  }
  return undefined
}
