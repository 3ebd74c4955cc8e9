import { cpSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestDatabase, freePort, type TestDatabase } from '@stack/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LOCK_KEY } from '../src/index.js'
import {
  API_ROOT,
  migrationsWith,
  query,
  recorded,
  runCli,
  runPnpmMigrate,
  signalWhenRunning,
  tables,
} from './helpers.js'

let database: TestDatabase
beforeAll(async () => {
  database = await createTestDatabase()
})
afterAll(() => database?.drop())

const advisoryLocks = (url: string) =>
  query<{ n: number }>(url, `select count(*)::int as n from pg_locks where locktype = 'advisory'`).then(
    (r) => r[0]?.n,
  )

describe('stack-migrate CLI', () => {
  it('status exits 1 while migrations are pending and 0 once up to date', async () => {
    const env = { DATABASE_URL: database.url }
    const pending = await runCli(['status'], env)
    expect(pending.code).toBe(1)
    expect(pending.lines).toContainEqual(
      expect.objectContaining({ migration: '0000_init', state: 'pending' }),
    )

    const up = await runCli(['up'], env)
    expect(up.code).toBe(0)
    const applied = up.lines.filter((l) => l.msg === 'migration applied')
    expect(applied[0]).toMatchObject({ migration: '0000_init', durationMs: expect.any(Number) })
    expect(up.lines.at(-1)).toMatchObject({ msg: 'migrations applied', applied: applied.length })

    const current = await runCli(['status'], env)
    expect(current.code).toBe(0)
    expect(current.lines.at(-1)).toMatchObject({ msg: 'schema up to date', pending: 0 })
  })

  it('a failing migration: exit 1 naming it, nothing of it applied, the lock released', async () => {
    const folder = migrationsWith([
      {
        tag: '9100_broken',
        sql: 'create table half_done (id int);\n--> statement-breakpoint\nalter table no_such_table add column x int;',
      },
    ])
    const env = { DATABASE_URL: database.url, MIGRATIONS_DIR: folder }
    const before = await recorded(database.url)
    const result = await runCli(['up'], env)
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      /^stack-migrate: migration 9100_broken failed at statement 2 of 2: .*no_such_table.*rolled back\n$/,
    )
    expect(await tables(database.url)).not.toContain('half_done')
    expect(await recorded(database.url)).toEqual(before)
    expect(await advisoryLocks(database.url)).toBe(0)

    // The next run takes the lock at once (and fails the same way: the migration is still broken).
    const again = await runCli(['up'], env)
    expect(again.code).toBe(1)
    expect(again.ms).toBeLessThan(5000)
  })

  it('without MIGRATIONS_DIR, applies ./drizzle of its working directory (the service package root)', async () => {
    const own = await createTestDatabase()
    try {
      const root = mkdtempSync(join(tmpdir(), 'service-root-'))
      cpSync(
        migrationsWith([{ tag: '9300_widgets', sql: 'create table widgets (id int);' }]),
        join(root, 'drizzle'),
        {
          recursive: true,
        },
      )
      const result = await runCli(['up'], { DATABASE_URL: own.url }, undefined, root)
      expect(result.code).toBe(0)
      expect(await tables(own.url)).toEqual(['items', 'widgets'])

      // Where no drizzle/ is, it says which folder it looked for.
      const empty = mkdtempSync(join(tmpdir(), 'no-migrations-'))
      const missing = await runCli(['status'], { DATABASE_URL: own.url }, undefined, empty)
      expect(missing.code).toBe(1)
      expect(missing.stderr).toContain(`cannot read migrations in ${join(empty, 'drizzle')}`)
    } finally {
      await own.drop()
    }
  })

  it('lock held by another session past MIGRATE_LOCK_TIMEOUT_MS: exit 1 saying so', async () => {
    const holder = new pg.Client({ connectionString: database.url })
    await holder.connect()
    await holder.query('select pg_advisory_lock($1)', [LOCK_KEY])
    try {
      const result = await runCli(['up'], { DATABASE_URL: database.url, MIGRATE_LOCK_TIMEOUT_MS: '500' })
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/another migration runner held the lock for more than 500 ms/)
      expect(result.ms).toBeLessThan(10_000)
    } finally {
      await holder.end()
    }
  })

  it('unreachable database: retries, then exit 1 naming host and port', async () => {
    const port = await freePort()
    const result = await runCli(['up'], {
      DATABASE_URL: `postgres://u:secretpw@127.0.0.1:${port}/db`,
      MIGRATE_WAIT_TIMEOUT_MS: '1500',
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      new RegExp(`database at 127\\.0\\.0\\.1:${port} unreachable after \\d+ attempt`),
    )
    expect(
      result.lines.filter((l) => l.msg === 'database not reachable yet, retrying').length,
    ).toBeGreaterThan(2)
    expect(result.stdout + result.stderr).not.toContain('secretpw')
    expect(result.ms).toBeGreaterThan(1400)
  })

  it('a server that accepts but never answers counts as unreachable within the wait', async () => {
    const silent = createServer(() => {}).listen(0, '127.0.0.1')
    await new Promise((r) => silent.once('listening', r))
    const { port } = silent.address() as { port: number }
    try {
      const result = await runCli(['up'], {
        DATABASE_URL: `postgres://u:p@127.0.0.1:${port}/db`,
        MIGRATE_WAIT_TIMEOUT_MS: '1000',
      })
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/unreachable/)
      expect(result.ms).toBeLessThan(8000)
    } finally {
      silent.close()
    }
  })

  it('wrong password: exit 1 at once, without retrying', async () => {
    const url = new URL(database.url)
    url.password = 'wrong'
    const result = await runCli(['up'], { DATABASE_URL: url.toString(), MIGRATE_WAIT_TIMEOUT_MS: '20000' })
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/cannot connect to .*password authentication failed/)
    expect(result.ms).toBeLessThan(5000)
  })

  it('configuration and usage errors: exit 2 with one line naming the problem', async () => {
    const malformed = await runCli(['up'], { DATABASE_URL: 'not-a-url' })
    expect(malformed.code).toBe(2)
    expect(malformed.stderr).toMatch(
      /^stack-migrate: invalid configuration: DATABASE_URL must be a URL starting with postgres:\/\//,
    )
    expect(malformed.stderr.trim().split('\n')).toHaveLength(1)

    const missing = await runCli(['up'], { MIGRATE_LOCK_TIMEOUT_MS: 'soon' })
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/DATABASE_URL is required/)
    expect(missing.stderr).toMatch(/MIGRATE_LOCK_TIMEOUT_MS must be an integer/)

    const usage = await runCli(['sideways'], { DATABASE_URL: database.url })
    expect(usage.code).toBe(2)
    expect(usage.stderr).toMatch(/unknown arguments "sideways"/)
  })

  it("`pnpm --dir apps/api migrate` at the root exits with the runner's own code and prints only its output", async () => {
    const config = await runPnpmMigrate(['up'], { DATABASE_URL: 'not-a-url' })
    expect(config.code).toBe(2)
    expect(config.stderr).toBe(
      'stack-migrate: invalid configuration: DATABASE_URL must be a URL starting with postgres:// or postgresql://\n',
    )
    expect(config.lines).toHaveLength(1)
    expect(config.stdout.trim().split('\n')).toHaveLength(1)

    const usage = await runPnpmMigrate(['sideways'], { DATABASE_URL: database.url })
    expect(usage.code).toBe(2)
    expect(usage.stderr).toMatch(/^stack-migrate: unknown arguments "sideways"\nusage: stack-migrate/)

    // Whatever state the database is in, the root command answers as the runner itself does.
    const env = { DATABASE_URL: database.url }
    const [viaPnpm, direct] = [
      await runPnpmMigrate(['status'], env),
      await runCli(['status'], env, undefined, API_ROOT),
    ]
    expect(viaPnpm.code).toBe(direct.code)
    expect(viaPnpm.stderr).toBe('')
    expect(viaPnpm.lines.map((l) => l.msg)).toEqual(direct.lines.map((l) => l.msg))
  })

  it('DATABASE_URL_FILE is read like the variable', async () => {
    const file = join(tmpdir(), `db-url-${process.pid}`)
    writeFileSync(file, `${database.url}\n`)
    const result = await runCli(['status'], { DATABASE_URL_FILE: file })
    expect(result.code).toBe(0)
  })

  it('SIGTERM during a migration cancels it, rolls back, releases the lock and exits non-zero', async () => {
    const folder = migrationsWith([
      {
        tag: '9200_slow',
        sql: 'create table slow_one (id int);\n--> statement-breakpoint\nselect pg_sleep(30);',
      },
    ])
    // Signalled once the runner is inside the slow statement.
    const result = await runCli(['up'], { DATABASE_URL: database.url, MIGRATIONS_DIR: folder }, (child) =>
      signalWhenRunning(child, database.url, 'select pg_sleep(30)'),
    )
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/cancelled by signal; the running migration was rolled back/)
    expect(result.ms).toBeLessThan(10_000)
    expect(await tables(database.url)).not.toContain('slow_one')
    expect(await advisoryLocks(database.url)).toBe(0)
  })
})
