import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { insertListItems, Listed } from './markers.ts'
import { nameProblem, type ServiceNames, serviceNames } from './names.ts'
import { Plan } from './plan.ts'
import { deployFiles, nextPorts, readRepo } from './repo.ts'
import { takenProblem } from './taken.ts'
import { readTemplate, render, templateDir, templateFiles } from './template.ts'

/** A request the generator refuses before touching anything: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

export interface Options {
  name: string
  withDb: boolean
}

export interface Generated {
  names: ServiceNames
  withDb: boolean
  port: number
  metricsPort: number
  plan: Plan
  /** The lines added to the lists that name every service. */
  listed: { file: string; item: string }[]
}

/** What the templates are filled with: the design's placeholders, and the drizzle-kit snapshot's. */
export function templateValues(
  names: ServiceNames,
  port: number,
  metricsPort: number,
): Record<string, string> {
  return {
    NAME: names.name,
    ENV: names.envPrefix,
    PACKAGE: names.packageName,
    PORT: String(port),
    METRICS_PORT: String(metricsPort),
    SNAPSHOT_ID: randomUUID(),
    WHEN: String(Date.now()),
  }
}

/**
 * Everything `pnpm new-service` would write, computed and checked before a byte is written:
 * apps/<name> rendered from template/common (and template/with-db), and one line in each list that
 * names the services. Throws a UsageError for a name that cannot be used.
 */
export function planService(root: string, options: Options): Generated {
  const problem = nameProblem(options.name)
  if (problem) throw new UsageError(problem)
  const names = serviceNames(options.name)
  const repo = readRepo(root)
  const { port, metricsPort } = nextPorts(repo)
  const values = templateValues(names, port, metricsPort)
  const flags = { db: options.withDb }

  // template/common (and with-db) is apps/<name>; template/repo is the repository root, for what
  // must live outside the service's directory (a compose secret file). Paths take placeholders too,
  // and a file that renders to nothing (a `{{#db}}` file without --with-db) is not written.
  const sets = [
    { dir: 'common', to: `apps/${names.name}/` },
    ...(options.withDb ? [{ dir: 'with-db', to: `apps/${names.name}/` }] : []),
    { dir: 'repo', to: '' },
  ]
  const rendered = new Map<string, string>()
  for (const set of sets) {
    for (const { source, target } of templateFiles(join(templateDir, set.dir))) {
      const text = render(readTemplate(source), values, flags)
      if (text !== '') rendered.set(set.to + render(target, values, flags), text)
    }
  }
  const taken = takenProblem(repo, names, rendered)
  if (taken) throw new UsageError(`"${names.name}" is taken: ${taken}`)

  const plan = new Plan(root)
  for (const [path, text] of rendered) plan.create(path, text)
  const listed: Generated['listed'] = []
  try {
    for (const file of deployFiles(repo)) {
      listed.push(...insertListItems(plan, file, (item) => render(item, values, flags)))
    }
  } catch (err) {
    if (err instanceof Listed) throw new UsageError(`"${names.name}" is taken: ${err.message}`)
    throw err
  }
  return { names, withDb: options.withDb, port, metricsPort, plan, listed }
}
