import { globSync } from 'node:fs'
import { git, lines } from './git.ts'

/** Every service that has migrations, as `apps/<name>`. */
export function servicesWithMigrations(root: string): string[] {
  return globSync('apps/*/drizzle/meta/_journal.json', { cwd: root })
    .map((journal) => journal.replace(/\/drizzle\/meta\/_journal\.json$/, ''))
    .sort()
}

/**
 * The revision still serving while the newest migration is applied: the parent of the commit that
 * added the newest migration file of any service (one base for the whole repository, since one
 * release ships every service). A migration not committed yet (or changed since) is newer than every
 * commit: the base is HEAD then.
 */
export function defaultBase(root: string): string {
  const migrations = ':(glob)apps/*/drizzle/*.sql'
  if (git(root, 'status', '--porcelain', '--', migrations)) return git(root, 'rev-parse', 'HEAD')
  // Newest first in history order, not by timestamp: commits a second apart tie on time.
  const added = git(root, 'log', '-1', '--diff-filter=A', '--format=%H', '--', migrations)
  if (!added) throw new Error('no service has a committed migration (apps/*/drizzle/*.sql)')
  return `${added}^`
}

/**
 * Whether the migrations differ between `base` and the working tree: compared by file name and
 * content wherever a drizzle/ folder is, so that migrations moved between folders (packages/db to
 * apps/api) with nothing changed count as unchanged.
 */
export function migrationsChanged(root: string, base: string): boolean {
  const atBase = lines(git(root, 'ls-tree', '-r', base))
    .filter((line) => /(^|\/)drizzle\/[^/]+\.sql$/.test(line))
    .map((line) => {
      const [meta = '', path = ''] = line.split('\t')
      return `${path.split('/').pop()} ${meta.split(' ')[2]}`
    })
  const now = globSync('apps/*/drizzle/*.sql', { cwd: root }).map(
    (path) => `${path.split('/').pop()} ${git(root, 'hash-object', path)}`,
  )
  return atBase.sort().join('\n') !== now.sort().join('\n')
}

/** Whether `base`'s test harness honours TEST_MIGRATIONS_DIR (the hook this check needs). */
export function baseHasHook(root: string, base: string): boolean {
  try {
    return git(root, 'show', `${base}:packages/testing/src/vars.ts`).includes('TEST_MIGRATIONS_DIR')
  } catch {
    return false
  }
}
