import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  API_ROOT,
  runCli,
  runPnpmAtRoot,
  runPnpmMigrate,
  migrationsWith as withMigrations,
} from './helpers.js'

// Real squawk on real files, through the built bin: `stack-migrate lint` needs no database.
const lint = (folder: string) => runCli(['lint'], { MIGRATIONS_DIR: folder })
// The API's committed migrations (notes exists) with one more, as drizzle-kit would write it.
const migrationsWith = (extra: { tag: string; sql: string }[]) =>
  withMigrations(extra, join(API_ROOT, 'drizzle'))
const NO_TX = '--! no-transaction\n'
/** How many migrations the API has committed: the fixtures below add one to them. */
const API_MIGRATIONS = (
  JSON.parse(readFileSync(join(API_ROOT, 'drizzle/meta/_journal.json'), 'utf8')) as { entries: unknown[] }
).entries.length

describe('stack-migrate lint', () => {
  it("passes on the API's committed migrations (./drizzle of its package root, as `up` finds them)", async () => {
    const result = await runCli(['lint'], {}, undefined, API_ROOT)
    expect(result.stderr).toBe('')
    expect(result.stdout).toContain(`lint passed: ${API_MIGRATIONS} migration(s)`)
    expect(result.code).toBe(0)
  })

  it('`pnpm --dir apps/api migrate lint` at the root exits with the linter’s code', async () => {
    const result = await runPnpmMigrate(['lint'], {})
    expect(result.stdout).toContain('lint passed')
    expect(result.code).toBe(0)
  })

  it('fails with squawk’s message on a plain CREATE INDEX on an existing table', async () => {
    const folder = migrationsWith([
      {
        tag: '0001_notes_title_idx',
        sql: 'CREATE INDEX "notes_title_idx" ON "notes" USING btree ("title");',
      },
    ])
    const result = await lint(folder)
    expect(result.stdout).toContain('require-concurrent-index-creation')
    expect(result.stdout).toContain('0001_notes_title_idx.sql')
    expect(result.stdout).toContain(`lint FAILED: ${API_MIGRATIONS + 1} migration(s)`)
    expect(result.code).toBe(1)
  })

  it('fails on a NOT NULL column without a default added to an existing table', async () => {
    const folder = migrationsWith([
      { tag: '0001_notes_owner', sql: 'ALTER TABLE "notes" ADD COLUMN "owner" text NOT NULL;' },
    ])
    const result = await lint(folder)
    expect(result.stdout).toContain('adding-required-field')
    expect(result.code).toBe(1)
  })

  it('passes on CREATE INDEX CONCURRENTLY in a --! no-transaction file, and fails on it without the marker', async () => {
    const sql =
      'CREATE INDEX CONCURRENTLY IF NOT EXISTS "notes_title_idx" ON "notes" USING btree ("title");\n' +
      '--> statement-breakpoint\n' +
      'DROP INDEX CONCURRENTLY IF EXISTS "notes_created_at_id_idx";'
    const outside = await lint(migrationsWith([{ tag: '0001_notes_title_idx', sql: NO_TX + sql }]))
    expect(outside.stdout).toContain(`lint passed: ${API_MIGRATIONS + 1} migration(s)`)
    expect(outside.code).toBe(0)

    // The runner would run this one inside a transaction, where PostgreSQL refuses CONCURRENTLY.
    const inside = await lint(migrationsWith([{ tag: '0001_notes_title_idx', sql }]))
    expect(inside.stdout).toContain('ban-concurrent-index-creation-in-transaction')
    expect(inside.code).toBe(1)
  })

  it('a --! no-transaction file is linted as run outside a transaction: a statement that cannot be rerun is flagged', async () => {
    // Statement by statement, a failure half-way leaves the first applied: the rerun must not trip on it.
    const sql = `${NO_TX}CREATE INDEX CONCURRENTLY "notes_title_idx" ON "notes" USING btree ("title");`
    const result = await lint(migrationsWith([{ tag: '0001_notes_title_idx', sql }]))
    expect(result.stdout).toContain('prefer-robust-stmts')
    expect(result.code).toBe(1)
  })

  it('a deliberate exception is written in the migration, with its reason, as squawk’s ignore comment', async () => {
    const sql =
      '-- notes holds a few rows here: a plain build takes milliseconds, inside the transaction.\n' +
      '-- squawk-ignore require-concurrent-index-creation\n' +
      'CREATE INDEX "notes_title_idx" ON "notes" USING btree ("title");'
    const result = await lint(migrationsWith([{ tag: '0001_notes_title_idx', sql }]))
    expect(result.stdout).toContain('lint passed')
    expect(result.code).toBe(0)
  })

  it('exit 2 on an argument it does not take, exit 1 naming a folder without migrations', async () => {
    const usage = await runCli(['lint', 'extra'], {})
    expect(usage.stderr).toContain('lint takes no arguments')
    expect(usage.code).toBe(2)

    const missing = await lint('/nonexistent/drizzle')
    expect(missing.stderr).toContain('cannot lint /nonexistent/drizzle')
    expect(missing.code).toBe(1)
  })
})

describe('stack-migrate --workspace lint (the root’s `pnpm migrate lint`)', () => {
  it('`pnpm migrate lint` at the root lints every service and passes on the committed migrations', async () => {
    const result = await runPnpmAtRoot(['migrate', 'lint'])
    expect(result.stdout).toContain(
      `lint passed: ${API_MIGRATIONS} migration(s) in ${join(API_ROOT, 'drizzle')}`,
    )
    expect(result.stdout).toMatch(/lint passed for \d+ service\(s\)/)
    expect(result.code).toBe(0)
  })

  it('fails naming the service whose migration squawk flags, and lints the others too', async () => {
    const root = mkdtempSync(join(tmpdir(), 'workspace-'))
    try {
      cpSync(join(API_ROOT, 'drizzle'), join(root, 'apps/clean/drizzle'), { recursive: true })
      const flagged = migrationsWith([
        {
          tag: '0001_notes_title_idx',
          sql: 'CREATE INDEX "notes_title_idx" ON "notes" USING btree ("title");',
        },
      ])
      cpSync(flagged, join(root, 'apps/flagged/drizzle'), { recursive: true })
      mkdirSync(join(root, 'apps/no-database/src'), { recursive: true })
      const result = await runCli(['--workspace', 'lint'], {}, undefined, root)
      expect(result.stdout).toContain(
        `lint passed: ${API_MIGRATIONS} migration(s) in ${join(root, 'apps/clean/drizzle')}`,
      )
      expect(result.stdout).toContain('require-concurrent-index-creation')
      expect(result.stderr).toContain(
        `lint FAILED in 1 of 2 service(s): ${join(root, 'apps/flagged/drizzle')}`,
      )
      expect(result.code).toBe(1)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })

  it('at the root, up and status are refused with exit 2 and where to run them', async () => {
    const result = await runPnpmAtRoot(['migrate', 'up'])
    expect(result.stderr).toContain('at the repository root only "lint" runs')
    expect(result.stderr).toContain('pnpm --dir apps/<name> migrate up|status')
    expect(result.code).toBe(2)

    const empty = mkdtempSync(join(tmpdir(), 'workspace-'))
    try {
      const none = await runCli(['--workspace', 'lint'], {}, undefined, empty)
      expect(none.stderr).toContain('nothing to lint')
      expect(none.code).toBe(2)
    } finally {
      rmSync(empty, { recursive: true, force: true })
    }
  })
})
