import { createTestDatabase, type TestDatabase } from '@stack/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { concurrentIndexName } from '../src/apply.js'
import { migrationsWith, query, recorded, runCli, signalWhenRunning } from './helpers.js'

let database: TestDatabase
beforeAll(async () => {
  database = await createTestDatabase()
})
afterAll(() => database?.drop())

const index = async (url: string, name: string) =>
  (
    await query<{ valid: boolean }>(
      url,
      `select i.indisvalid as valid from pg_index i where i.indexrelid = to_regclass('${name}')`,
    )
  )[0]

describe('a migration marked --! no-transaction', () => {
  it('runs CREATE INDEX CONCURRENTLY outside a transaction and records it once', async () => {
    const folder = migrationsWith([
      {
        tag: '9500_items_lower',
        sql: '--! no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "items_lower_idx" ON "items" (lower("name"));',
      },
    ])
    const result = await runCli(['up'], { DATABASE_URL: database.url, MIGRATIONS_DIR: folder })
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(await index(database.url, 'items_lower_idx')).toEqual({ valid: true })
    expect((await recorded(database.url)).every((r) => r.n === 1)).toBe(true)
  })

  it('a failed concurrent build: exit 1 with a clear message, not recorded; the rerun drops the INVALID index and builds it', async () => {
    await query(database.url, `insert into items (name) values ('Dup'), ('dup')`)
    const folder = migrationsWith([
      {
        tag: '9500_items_lower',
        sql: '--! no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "items_lower_idx" ON "items" (lower("name"));',
      },
      {
        tag: '9501_items_lower_unique',
        sql: '--! no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS items_lower_unique ON items (lower(name));',
      },
    ])
    const env = { DATABASE_URL: database.url, MIGRATIONS_DIR: folder }
    const before = await recorded(database.url)
    const failed = await runCli(['up'], env)
    expect(failed.code).toBe(1)
    expect(failed.stderr).toMatch(
      /^stack-migrate: migration 9501_items_lower_unique \(no-transaction\) failed at statement 1 of 1: could not create unique index "items_lower_unique".*23505.*not recorded/,
    )
    expect(await recorded(database.url)).toEqual(before)
    // What PostgreSQL leaves behind, and what IF NOT EXISTS alone would skip on a rerun.
    expect(await index(database.url, 'items_lower_unique')).toEqual({ valid: false })

    await query(database.url, `delete from items where name = 'dup'`)
    const rerun = await runCli(['up'], env)
    expect(rerun.stderr).toBe('')
    expect(rerun.code).toBe(0)
    expect(await index(database.url, 'items_lower_unique')).toEqual({ valid: true })
    expect((await recorded(database.url)).every((r) => r.n === 1)).toBe(true)
  })

  it('SIGTERM half-way: exit 1 saying which statements stay applied, not recorded; the rerun continues', async () => {
    // A database of its own: migrationsWith numbers this migration like the ones above.
    const own = await createTestDatabase()
    try {
      const sleep = (s: number) => `select pg_sleep(${s});`
      const folder = migrationsWith([
        {
          tag: '9510_items_half',
          sql: `--! no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "items_half_idx" ON "items" ("name");\n--> statement-breakpoint\n${sleep(30)}`,
        },
      ])
      const env = { DATABASE_URL: own.url, MIGRATIONS_DIR: folder }
      const stopped = await runCli(['up'], env, (child) =>
        signalWhenRunning(child, own.url, 'select pg_sleep(30)'),
      )
      expect(stopped.code).toBe(1)
      expect(stopped.stderr).toContain(
        'cancelled by signal; migration 9510_items_half (no-transaction) stopped at statement 2 of 2: the 1 statement(s) before it stay applied, it is not recorded; rerun to continue',
      )
      expect(stopped.stderr).not.toContain('rolled back')
      expect(await index(own.url, 'items_half_idx')).toEqual({ valid: true })

      // A rerun (of the file with its slow statement made quick) trips on nothing already applied:
      // IF NOT EXISTS on the index, then the rest, recorded once.
      const quick = migrationsWith([
        {
          tag: '9510_items_half',
          sql: `--! no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "items_half_idx" ON "items" ("name");\n--> statement-breakpoint\n${sleep(0)}`,
        },
      ])
      const rerun = await runCli(['up'], { DATABASE_URL: own.url, MIGRATIONS_DIR: quick })
      expect(rerun.stderr).toBe('')
      expect(rerun.code).toBe(0)
      expect((await recorded(own.url)).every((r) => r.n === 1)).toBe(true)
    } finally {
      await own.drop()
    }
  })

  it('finds the index name of a concurrent build however it is written', () => {
    expect(concurrentIndexName('CREATE INDEX CONCURRENTLY IF NOT EXISTS "a_idx" ON "a" ("x");')).toBe(
      '"a_idx"',
    )
    expect(
      concurrentIndexName('--! no-transaction\ncreate unique index concurrently s.b_idx on s.b (x)'),
    ).toBe('s.b_idx')
    expect(concurrentIndexName('CREATE INDEX "c_idx" ON "c" ("x");')).toBeUndefined()
  })
})
