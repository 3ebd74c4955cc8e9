import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { FilesError } from './errors.js'

export interface Migration {
  /** drizzle-kit's name for it, e.g. `0000_init`. */
  tag: string
  /** The journal's timestamp: drizzle records it as `created_at`, which is how applied migrations are matched. */
  millis: number
  hash: string
  statements: string[]
  /**
   * False when the file's first line is `--! no-transaction` (graphile-migrate's spelling): its
   * statements then run one by one outside a transaction, which CREATE INDEX CONCURRENTLY needs.
   */
  transaction: boolean
}

/** The marker, alone on a file's first line. */
export const NO_TRANSACTION = /^--!\s*no-transaction\s*$/

const cache = new Map<string, readonly Migration[]>()

/**
 * The migrations drizzle-kit wrote to `folder`, in journal order. drizzle-orm's own reader does the
 * parsing and hashing, so records stay interchangeable with `drizzle-orm`'s migrate(). Cached: a
 * build's migrations never change while it runs, and readiness asks often.
 */
export function readMigrations(folder: string): readonly Migration[] {
  const cached = cache.get(folder)
  if (cached) return cached
  let journal: { entries: { tag: string; when: number }[] }
  let files: ReturnType<typeof readMigrationFiles>
  try {
    journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8'))
    files = readMigrationFiles({ migrationsFolder: folder })
  } catch (err) {
    throw new FilesError(folder, (err as Error).message, { cause: err })
  }
  const migrations = files.map((file, i) => ({
    tag: journal.entries[i]?.tag ?? `#${i}`,
    millis: file.folderMillis,
    hash: file.hash,
    statements: file.sql.map((s) => s.trim()).filter((s) => s.length > 0),
    transaction: !NO_TRANSACTION.test(file.sql[0]?.trimStart().split('\n', 1)[0] ?? ''),
  }))
  cache.set(folder, Object.freeze(migrations))
  return migrations
}
