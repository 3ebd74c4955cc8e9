import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { runMigrations } from '@stack/migrate'
import { migratedDatabase, type PostgresServer, startPostgres } from '@stack/testing'
import pg from 'pg'
import { API_MIGRATIONS, canPin, pin } from './servers.js'

export interface BenchDatabase {
  server: PostgresServer
  /** A migrated database of its own on `server`. */
  url: string
  /** Notes with no owner: what the API reads with authentication off. */
  ids: string[]
  /** As many notes of `owner`'s: what a token whose subject is `owner` reads (each caller its own). */
  ownedIds: string[]
  /** How PostgreSQL was placed on the cores, in words. */
  placement: string
  version: string
  destroy(): Promise<void>
}

/**
 * PostgreSQL as the tests get it (a container when Docker answers, else embedded), a database
 * migrated by the real runner and `notes` rows to read. `cpus` pins the server when it can be.
 */
export async function startBenchDatabase(options: {
  notes: number
  owner: string
  cpus?: string
  external?: boolean
}) {
  const server = await startPostgres({ external: options.external ?? true })
  try {
    const database = await migratedDatabase(API_MIGRATIONS, runMigrations, { adminUrl: server.url })
    const ids = await seed(database.url, options.notes)
    const ownedIds = await seed(database.url, options.notes, options.owner)
    const version = await query(database.url, 'show server_version')
    const placement = options.cpus ? pinPostgres(server, options.cpus) : 'not pinned (any core)'
    return {
      server,
      url: database.url,
      ids,
      ownedIds,
      placement,
      version: String(version[0]?.server_version ?? '?'),
      destroy: () => server.destroy(),
    } satisfies BenchDatabase
  } catch (err) {
    await server.destroy().catch(() => {})
    throw err
  }
}

/**
 * Inserts `count` notes of `owner` (~256-character bodies, one second apart; no owner: the API's
 * with authentication off) and returns the ids of all the notes `owner` has.
 */
export async function seed(url: string, count: number, owner: string | null = null): Promise<string[]> {
  await query(
    url,
    `insert into notes (title, body, owner, created_at, updated_at)
     select 'note ' || g, repeat(md5(g::text), 8), $2::text, now() - g * interval '1 second', now() - g * interval '1 second'
     from generate_series(1, $1::int) g`,
    [count, owner],
  )
  await query(url, 'analyze notes')
  return (await query(url, 'select id from notes where owner is not distinct from $1', [owner])).map((r) =>
    String(r.id),
  )
}

export async function query(url: string, sql: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(sql, params)).rows as Record<string, unknown>[]
  } finally {
    await client.end()
  }
}

/**
 * Pins PostgreSQL: a container through its cgroup (`docker update --cpuset-cpus`, which covers the
 * backends it forks later), an embedded server through the postmaster's affinity (children inherit it).
 */
function pinPostgres(server: PostgresServer, cpus: string): string {
  const port = new URL(server.url).port
  try {
    if (server.backend === 'container') {
      const id = execFileSync('docker', ['ps', '-q', '--filter', `publish=${port}`], {
        encoding: 'utf8',
      }).trim()
      if (!id) return 'not pinned (container not found)'
      execFileSync('docker', ['update', '--cpuset-cpus', cpus, id], { stdio: 'ignore' })
      return `container pinned to core ${cpus} (docker update --cpuset-cpus)`
    }
    if (server.backend === 'embedded' && canPin()) {
      const postmaster = findProcess((argv) => /postgres$/.test(argv[0] ?? '') && argv.includes(port))
      if (postmaster === undefined) return 'not pinned (postmaster not found)'
      pin(postmaster, cpus)
      for (const child of childrenOf(postmaster)) pin(child, cpus)
      return `embedded server pinned to core ${cpus} (taskset on the postmaster and its children)`
    }
  } catch (err) {
    return `not pinned (${(err as Error).message.split('\n')[0]})`
  }
  return 'not pinned'
}

function processes(): { pid: number; argv: string[]; ppid: number }[] {
  const list = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean)
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, 'utf8'))?.[1])
      list.push({ pid: Number(name), argv, ppid })
    } catch {
      // gone meanwhile
    }
  }
  return list
}

function findProcess(match: (argv: string[]) => boolean): number | undefined {
  return processes().find((p) => match(p.argv))?.pid
}

function childrenOf(pid: number): number[] {
  return processes()
    .filter((p) => p.ppid === pid)
    .map((p) => p.pid)
}

/**
 * Waits until `url` answers `select 1`; resolves with the milliseconds spent waiting after a first
 * refusal (0 when it answered at once). The bench checks before every case: a PostgreSQL in crash
 * recovery must not be measured as the API.
 */
export async function waitForDatabase(url: string, timeoutMs = 60_000): Promise<number> {
  const started = performance.now()
  for (let attempt = 0; ; attempt++) {
    try {
      await query(url, 'select 1')
      return attempt === 0 ? 0 : performance.now() - started
    } catch (err) {
      if (performance.now() - started > timeoutMs) throw err
      await new Promise((r) => setTimeout(r, 250))
    }
  }
}
