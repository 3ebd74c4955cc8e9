import { createTestDatabase, type TestDatabase } from '@stack/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CliResult, migrationsWith, query, recorded, runCli, tables } from './helpers.js'

const RUNNERS = 8
let database: TestDatabase
beforeAll(async () => {
  database = await createTestDatabase()
})
afterAll(() => database?.drop())

// Each new migration sleeps first, so that without the lock runners would overlap inside it (on two
// cores eight processes take ~1 s to start) and collide; with it they queue and find nothing to do.
const slow = (table: string) =>
  `select pg_sleep(1);\n--> statement-breakpoint\ncreate table ${table} (id serial primary key);`

async function runAtOnce(env: Record<string, string>): Promise<CliResult[]> {
  return Promise.all(Array.from({ length: RUNNERS }, () => runCli(['up'], env)))
}

function expectClean(results: CliResult[]) {
  for (const r of results) {
    expect(r.stderr).toBe('')
    expect(r.code, r.stdout).toBe(0)
    expect(r.stdout).not.toMatch(/already exists|duplicate|42P07|23505/i)
  }
}

describe(`${RUNNERS} runners started at once`, () => {
  it('on a fresh database: all exit 0 and each migration is recorded exactly once', async () => {
    const folder = migrationsWith([{ tag: '9001_topics', sql: slow('topics') }])
    const results = await runAtOnce({ DATABASE_URL: database.url, MIGRATIONS_DIR: folder })
    expectClean(results)
    const rows = await recorded(database.url)
    expect(rows.length).toBeGreaterThan(0)
    expect(rows.every((r) => r.n === 1)).toBe(true)
    // Exactly one runner applied; the others found nothing to do once they had the lock.
    const appliers = results.filter((r) => r.stdout.includes('"msg":"migration applied"'))
    expect(appliers).toHaveLength(1)
    console.info(`fresh: ${RUNNERS} runners, slowest ${Math.max(...results.map((r) => r.ms)).toFixed(0)} ms`)
  })

  it('with one new pending migration: applied once, by one runner', async () => {
    const folder = migrationsWith([
      { tag: '9001_topics', sql: slow('topics') },
      { tag: '9002_labels', sql: slow('labels') },
    ])
    const results = await runAtOnce({ DATABASE_URL: database.url, MIGRATIONS_DIR: folder })
    expectClean(results)
    expect(results.filter((r) => r.stdout.includes('"migration":"9002_labels"'))).toHaveLength(1)
    expect((await recorded(database.url)).every((r) => r.n === 1)).toBe(true)
    expect(await tables(database.url)).toEqual(['items', 'labels', 'topics'])
    console.info(
      `one pending: ${RUNNERS} runners, slowest ${Math.max(...results.map((r) => r.ms)).toFixed(0)} ms`,
    )
  })
})

describe(`${RUNNERS} runners started at once, a CREATE INDEX CONCURRENTLY pending`, () => {
  it('all exit 0, no deadlock, the index is VALID and recorded once', async () => {
    const own = await createTestDatabase()
    try {
      // The sleep keeps the applier inside the migration while the others wait for the lock: the
      // build then has to wait for every snapshot the waiters hold, which a blocking
      // pg_advisory_lock would hold for as long as it waits.
      const folder = migrationsWith([
        {
          tag: '9600_items_name_id',
          sql: '--! no-transaction\nselect pg_sleep(2);\n--> statement-breakpoint\nCREATE INDEX CONCURRENTLY IF NOT EXISTS "items_name_id_idx" ON "items" ("name", "id");',
        },
      ])
      const results = await runAtOnce({ DATABASE_URL: own.url, MIGRATIONS_DIR: folder })
      expectClean(results)
      const valid = await query<{ valid: boolean }>(
        own.url,
        `select indisvalid as valid from pg_index where indexrelid = to_regclass('items_name_id_idx')`,
      )
      expect(valid).toEqual([{ valid: true }])
      expect((await recorded(own.url)).every((r) => r.n === 1)).toBe(true)
      expect(results.filter((r) => r.stdout.includes('"migration":"9600_items_name_id"'))).toHaveLength(1)
      console.info(
        `concurrent index: ${RUNNERS} runners, slowest ${Math.max(...results.map((r) => r.ms)).toFixed(0)} ms`,
      )
    } finally {
      await own.drop()
    }
  })
})
