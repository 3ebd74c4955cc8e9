import { planCompose, type ServiceSpec } from './compose.ts'
import { planKubernetes } from './k8s.ts'
import { nameProblem, serviceNames } from './names.ts'
import { Plan } from './plan.ts'
import { renaming } from './rename.ts'
import { API, nextPorts, readFacts } from './repo.ts'
import { planSkeleton } from './skeleton.ts'

/** A request the generator refuses before touching anything: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

export interface Options {
  name: string
  withDb: boolean
}

export interface Generated {
  spec: Pick<ServiceSpec, 'names' | 'withDb' | 'port' | 'metricsPort'>
  plan: Plan
}

/**
 * Everything `pnpm new-service` would write, computed and checked before a byte is written. Throws a
 * UsageError for a name that cannot be used.
 */
export function planService(root: string, options: Options): Generated {
  const problem = nameProblem(options.name)
  if (problem) throw new UsageError(problem)
  const names = serviceNames(options.name)
  const facts = readFacts(root)
  const { port, metricsPort } = nextPorts(facts)
  const rename = renaming(facts.api, { ...names, port, metricsPort })

  // The name, and every name derived from it the way the API's are derived from `api`, must be free.
  const wanted = new Set([
    names.name,
    names.packageName,
    names.migrateService,
    names.createDatabaseService,
    names.databaseUrlSecret,
    `env:${names.envPrefix}`,
  ])
  const apiWord = new RegExp(`(?<![A-Za-z0-9])${API}(?![A-Za-z0-9])`)
  for (const taken of facts.taken.keys()) {
    if (apiWord.test(taken)) wanted.add(rename.text(taken))
  }
  for (const name of wanted) {
    const where = facts.taken.get(name)
    if (where !== undefined) {
      const what = name.startsWith('env:') ? `the variable prefix ${name.slice(4)}_` : `"${name}"`
      throw new UsageError(`"${options.name}" is taken: ${what} is already used in ${where}`)
    }
  }

  const spec: ServiceSpec = { names, apps: facts.apps, withDb: options.withDb, port, metricsPort, rename }
  const plan = new Plan(root)
  planSkeleton(plan, spec)
  planCompose(plan, spec)
  planKubernetes(plan, spec)
  return { spec: { names, withDb: options.withDb, port, metricsPort }, plan }
}
