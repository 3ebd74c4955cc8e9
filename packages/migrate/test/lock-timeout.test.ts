import { createTestDatabase, type TestDatabase } from '@stack/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrationsWith, query, recorded, runCli } from './helpers.js'

let database: TestDatabase
beforeAll(async () => {
  database = await createTestDatabase()
  const base = await runCli(['up'], { DATABASE_URL: database.url })
  expect(base.code).toBe(0)
})
afterAll(() => database?.drop())

const columns = async (url: string) =>
  (
    await query<{ c: string }>(
      url,
      `select column_name as c from information_schema.columns where table_name = 'items' order by 1`,
    )
  ).map((r) => r.c)

/**
 * Reads and writes of `items` at a fixed rate (one every 25 ms, alternating) on a pool, as an API's
 * replicas send them: a request that queues behind a waiting ALTER does not stop the next from
 * being sent, so every stalled request is counted (a closed loop would count one per stall).
 */
function traffic(url: string) {
  const pool = new pg.Pool({ connectionString: url, max: 20, application_name: 'traffic' })
  pool.on('error', () => {})
  const samples: number[] = []
  const inFlight = new Set<Promise<unknown>>()
  let n = 0
  const timer = setInterval(() => {
    const started = performance.now()
    const i = n++
    const op =
      i % 2 === 0
        ? pool.query('select count(*) from items')
        : pool.query('insert into items (name) values ($1)', [`t-${process.pid}-${i}`])
    const done = op.then(() => samples.push(performance.now() - started)).finally(() => inFlight.delete(done))
    inFlight.add(done)
  }, 25)
  return {
    async stop() {
      clearInterval(timer)
      await Promise.all(inFlight)
      await pool.end()
      const sorted = [...samples].sort((a, b) => a - b)
      const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? 0
      return { count: sorted.length, p99, max: sorted.at(-1) ?? 0 }
    },
  }
}

describe('a migration that needs a lock another session holds', () => {
  it('gives up after its retries with exit 1 naming the blocker, while reads and writes keep answering', async () => {
    const folder = migrationsWith([
      { tag: '9400_items_note', sql: 'alter table items add column note text;' },
    ])
    const blocker = new pg.Client({ connectionString: database.url, application_name: 'slow-report' })
    await blocker.connect()
    const blockerPid = (await blocker.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid
    // An open transaction that has read the table: it holds ACCESS SHARE until it ends.
    await blocker.query('begin')
    await blocker.query('select count(*) from items')
    const blockedFrom = performance.now()
    const load = traffic(database.url)
    let result: Awaited<ReturnType<typeof runCli>>
    try {
      result = await runCli(
        ['up'],
        {
          DATABASE_URL: database.url,
          MIGRATIONS_DIR: folder,
          MIGRATE_STATEMENT_LOCK_TIMEOUT_MS: '500',
          MIGRATE_LOCK_RETRIES: '2',
        },
        // A runner that waits for ever would fail the test, not hang it.
        (child) => setTimeout(() => child.kill('SIGKILL'), 60_000).unref(),
      )
    } finally {
      await blocker.query('rollback')
    }
    const blockerMs = performance.now() - blockedFrom
    const { count, p99, max } = await load.stop()
    await blocker.end()
    console.info(
      `lock timeout 500 ms x 3 attempts: runner exit ${result.code} after ${result.ms.toFixed(0)} ms; ` +
        `blocker held ${blockerMs.toFixed(0)} ms; ${count} reads/writes of items meanwhile, p99 ${p99.toFixed(0)} ms, max ${max.toFixed(0)} ms`,
    )

    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      new RegExp(
        `^stack-migrate: migration 9400_items_note: statement 1 of 1 \\(alter table items add column note text;\\) waited longer than 500 ms for a lock .*3 attempt\\(s\\); blocked by pid ${blockerPid} \\(application_name "slow-report", idle in transaction, for \\d+ ms, query "select count\\(\\*\\) from items"\\); rolled back\\n$`,
      ),
    )
    expect(result.lines.filter((l) => String(l.msg).includes('retrying'))).toHaveLength(2)
    expect(await columns(database.url)).not.toContain('note')
    // Each op waits at most one lock timeout behind the migration's ALTER, never the blocker's time.
    expect(p99).toBeLessThan(blockerMs / 2)
    expect(max).toBeLessThan(blockerMs / 2)

    // Once the blocker is gone, the same migration applies.
    const again = await runCli(['up'], { DATABASE_URL: database.url, MIGRATIONS_DIR: folder })
    expect(again.code).toBe(0)
    expect(await columns(database.url)).toContain('note')
    expect((await recorded(database.url)).every((r) => r.n === 1)).toBe(true)
  })
})

describe('a migration statement that runs too long', () => {
  it('is stopped by MIGRATE_STATEMENT_TIMEOUT_MS: exit 1 naming it, rolled back', async () => {
    // A database of its own: migrationsWith numbers this migration like the one above, which
    // would make it look applied there already.
    const own = await createTestDatabase()
    try {
      const folder = migrationsWith([
        {
          tag: '9410_runaway',
          sql: 'create table runaway (id int);\n--> statement-breakpoint\nselect pg_sleep(60);',
        },
      ])
      const result = await runCli(
        ['up'],
        { DATABASE_URL: own.url, MIGRATIONS_DIR: folder, MIGRATE_STATEMENT_TIMEOUT_MS: '500' },
        (child) => setTimeout(() => child.kill('SIGKILL'), 45_000).unref(),
      )
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(
        /^stack-migrate: migration 9410_runaway failed at statement 2 of 2: canceling statement due to statement timeout \(57014\); rolled back\n$/,
      )
      expect(result.ms).toBeLessThan(30_000)
      expect(await query(own.url, `select 1 from pg_tables where tablename = 'runaway'`)).toEqual([])
    } finally {
      await own.drop()
    }
  })
})
