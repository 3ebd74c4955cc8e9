import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { childEnv, loadConfig } from '@stack/config'
import { type DevIssuer, loadOrCreateDevKey, startDevIssuer } from '@stack/dev-issuer'
import { runMigrations } from '@stack/migrate'
import { type DevApp, findApp } from './app.ts'
import { type DevDatabase, startDevDatabase } from './database.ts'
import { type Addresses, prettyLines } from './pretty.ts'
import { devVars } from './vars.ts'

// `pnpm dev [name]` (default: api): the app in apps/<name> for a person at a terminal. It builds
// what the app imports, starts a real PostgreSQL 18 when the app has migrations and no DATABASE_URL
// is given (its data kept under .data/), runs the app's own migrations, then runs the app in watch
// mode, on loopback, with its log lines made readable and one line with its URLs. Authentication is
// on, as in production: unless AUTH_ISSUER names a real provider, a development issuer (its key
// kept under .data/dev-issuer) serves discovery and keys on loopback, the app's audience is its
// name, and `pnpm run token` signs tokens for it. Ctrl-C stops the app, then the issuer and the
// database; the data and the key stay for next time.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')
const log = (msg: string) => process.stdout.write(`[dev] ${msg}\n`)
const name = process.argv[2] ?? 'api'

let config: ReturnType<typeof loadConfig<typeof devVars>>
let app: DevApp
try {
  config = loadConfig(devVars)
  app = findApp(root, name)
} catch (error) {
  // As a service does with a bad configuration: one line, exit 2.
  process.stderr.write(`dev: ${(error as Error).message}\n`)
  process.exit(2)
}

await run('pnpm', [
  'exec',
  'turbo',
  'run',
  'build',
  `--filter=${app.packageName}^...`,
  '--output-logs=errors-only',
])

let issuer: DevIssuer | undefined
const authEnv: Record<string, string> = {}
let keyNote = ''
if (!config.AUTH_ISSUER) {
  // Before the database: a port in use fails here, with nothing else started yet.
  try {
    const { key, created } = await loadOrCreateDevKey(resolve(root, config.DEV_ISSUER_DIR))
    issuer = await startDevIssuer({
      key,
      issuer: `http://127.0.0.1:${config.DEV_ISSUER_PORT}`,
      host: '127.0.0.1',
      port: config.DEV_ISSUER_PORT,
    })
    keyNote = created ? 'created in' : 'from'
  } catch (error) {
    process.stderr.write(`dev: ${(error as Error).message}\n`)
    process.exit(1)
  }
  authEnv.AUTH_ISSUER = issuer.issuer
  // The service's name, as a real provider's audience would be (apps' compose files say the same).
  authEnv.AUTH_AUDIENCE = name
  log(`development issuer ${issuer.issuer} (key ${keyNote} ${config.DEV_ISSUER_DIR}/key.json)`)
}

let database: DevDatabase | undefined
let url = config.DATABASE_URL
if (app.migrationsFolder) {
  if (!url) {
    const started = performance.now()
    database = await startDevDatabase({
      dataDir: resolve(root, config.DEV_DATA_DIR),
      port: config.DEV_DATABASE_PORT,
      // One server for every app; a database of each app's own.
      name: name.replaceAll('-', '_'),
    })
    url = database.url
    log(
      `PostgreSQL 18 on 127.0.0.1:${config.DEV_DATABASE_PORT} in ${Math.round(performance.now() - started)} ms`,
    )
  }
  const summary = await runMigrations({
    url,
    migrationsFolder: app.migrationsFolder,
    waitTimeoutMs: 10_000,
    lockTimeoutMs: 10_000,
  })
  log(`migrations: ${summary.applied.length} applied, ${summary.skipped} already there`)
}

// tsx watch restarts the app on every change. Its own process group, so that stopping it stops the
// watcher and the server it runs, however this script was stopped.
const tsx = fileURLToPath(import.meta.resolve('tsx/cli'))
const child = spawn(process.execPath, [tsx, 'watch', '--clear-screen=false', 'src/server.ts'], {
  cwd: app.dir,
  stdio: ['ignore', 'pipe', 'inherit'],
  detached: true,
  env: childEnv({
    HOST: config.HOST,
    SHUTDOWN_DELAY_MS: '0',
    ...(url ? { DATABASE_URL: url } : {}),
    ...authEnv,
  }),
})

let announced = false
const announce = (addresses: Addresses) => {
  if (announced || !addresses.api || (config.METRICS_ENABLED && !addresses.metrics)) return
  announced = true
  const parts = [
    `${name} ${addresses.api}`,
    `OpenAPI ${addresses.api}/openapi.json`,
    `metrics ${addresses.metrics ?? 'off'}`,
    `database ${url ? withoutPassword(url) : 'none'}`,
  ]
  log(parts.join('  ·  '))
  if (issuer) {
    // The token's defaults are the API's (audience api, the notes scopes); another app names its own.
    const aud = name === 'api' ? '' : ` --aud ${name}`
    const example = name === 'api' ? `${addresses.api}/v1/notes` : `${addresses.api}/…`
    log(
      `auth on: a token for ${name} with \`pnpm --silent run token${aud}\` (--sub, --scope, --ttl), e.g.\n` +
        `      curl -H "Authorization: Bearer $(pnpm --silent run token${aud})" ${example}`,
    )
  } else {
    log(`auth on: tokens from ${config.AUTH_ISSUER}`)
  }
}
const pretty = prettyLines({
  colorize: process.stdout.isTTY === true,
  write: (text) => process.stdout.write(text),
  onAddress: announce,
})
child.stdout?.setEncoding('utf8').on('data', pretty)

let stopping = false
async function stop(code: number) {
  if (stopping) return
  stopping = true
  await stopGroup(child)
  await issuer?.close()
  if (database) {
    await database.stop()
    log(`PostgreSQL stopped; data kept in ${config.DEV_DATA_DIR}`)
  }
  process.exit(code)
}
process.on('SIGINT', () => void stop(0))
process.on('SIGTERM', () => void stop(0))
// The terminal closed.
process.on('SIGHUP', () => void stop(0))
child.on('exit', (code) => void stop(code ?? 0))

/** SIGTERM to the app's whole group (watcher and server); SIGKILL if it has not gone in 15 s. */
async function stopGroup(running: ChildProcess) {
  if (running.exitCode !== null || running.signalCode !== null || !running.pid) return
  const exited = once(running, 'exit')
  process.kill(-running.pid, 'SIGTERM')
  const timer = setTimeout(() => process.kill(-(running.pid as number), 'SIGKILL'), 15_000)
  await exited
  clearTimeout(timer)
}

/** Runs a command at the repository root to its end; exits with its code if it fails. */
async function run(command: string, args: string[]) {
  const step = spawn(command, args, { cwd: root, stdio: 'inherit', env: childEnv() })
  const [code] = (await once(step, 'exit')) as [number | null]
  if (code !== 0) process.exit(code ?? 1)
}

function withoutPassword(raw: string): string {
  const parsed = new URL(raw)
  parsed.password = ''
  return parsed.toString()
}
