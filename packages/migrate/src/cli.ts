#!/usr/bin/env node
import { resolve } from 'node:path'
import { ConfigError, loadConfig, migrateVars } from '@stack/config'
import { pino } from 'pino'
import { connectWithRetry } from './connect.js'
import { describe, EXIT, MigrateError } from './errors.js'
import { runMigrations } from './runner.js'
import { schemaState } from './state.js'

const USAGE =
  'usage: stack-migrate [up|status|lint]   (up: apply pending migrations; status: exit 1 if any are pending; ' +
  'lint: squawk on them, no database)\n       stack-migrate --workspace lint   (at the repository root: every apps/<name>/drizzle)'

// A process entry point, allowed to exit (the other is @stack/service's runService).
const log = pino({ base: { service: 'migrate' } })
const [command = 'up', ...extra] = process.argv.slice(2)
if (command === 'lint') process.exit(await (await import('./lint.js')).lintCommand(extra, console))
// The repository root's `pnpm migrate …`: there is no one database, so only lint, for every service.
if (command === '--workspace') {
  if (extra.length !== 1 || extra[0] !== 'lint') {
    console.error(
      `stack-migrate: at the repository root only "lint" runs (every service's migrations), got "${extra.join(' ')}"; ` +
        "to apply or check a service's migrations, run it in its package: pnpm --dir apps/<name> migrate up|status",
    )
    process.exit(EXIT.USAGE)
  }
  process.exit(await (await import('./lint.js')).lintWorkspace(process.cwd(), console))
}

if (command === '--help' || command === '-h') {
  console.info(USAGE)
  process.exit(EXIT.OK)
}
if (!['up', 'status'].includes(command) || extra.length > 0) {
  console.error(`stack-migrate: unknown arguments "${process.argv.slice(2).join(' ')}"\n${USAGE}`)
  process.exit(EXIT.USAGE)
}

let config: ReturnType<typeof loadConfig<typeof migrateVars>>
try {
  config = loadConfig(migrateVars)
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  log.error({ issues: err.issues }, err.message)
  console.error(`stack-migrate: ${err.message}`)
  process.exit(EXIT.USAGE)
}
// The service's own migrations: run from its package root (/app in its image, apps/<name> in the
// repository), where drizzle-kit wrote them.
const folder = resolve(config.MIGRATIONS_DIR ?? 'drizzle')

// SIGTERM (compose down, a pod deleted) cancels the running statement and rolls back before exiting.
// A second signal exits at once: the cancel request is already on its way, and PostgreSQL rolls
// back and drops the session's lock when the connection goes.
const controller = new AbortController()
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (controller.signal.aborted) {
      console.error(`stack-migrate: second ${signal}, exiting now`)
      process.exit(EXIT.FAILURE)
    }
    log.warn({ signal }, 'signal received, cancelling')
    controller.abort()
  })
}

try {
  if (command === 'status') await status()
  else await up()
} catch (err) {
  const reason = describe(err)
  log.error({ code: err instanceof MigrateError ? err.code : undefined }, reason)
  console.error(`stack-migrate: ${reason}`)
  process.exit(EXIT.FAILURE)
}

async function up(): Promise<void> {
  const summary = await runMigrations({
    url: config.DATABASE_URL,
    migrationsFolder: folder,
    waitTimeoutMs: config.MIGRATE_WAIT_TIMEOUT_MS,
    lockTimeoutMs: config.MIGRATE_LOCK_TIMEOUT_MS,
    statementLockTimeoutMs: config.MIGRATE_STATEMENT_LOCK_TIMEOUT_MS,
    statementTimeoutMs: config.MIGRATE_STATEMENT_TIMEOUT_MS,
    lockRetries: config.MIGRATE_LOCK_RETRIES,
    applicationName: config.DATABASE_APPLICATION_NAME ?? 'stack-migrate',
    signal: controller.signal,
    logger: log,
  })
  log.info(
    {
      applied: summary.applied.length,
      skipped: summary.skipped,
      lockWaitMs: summary.lockWaitMs,
      durationMs: summary.durationMs,
    },
    summary.applied.length > 0 ? 'migrations applied' : 'schema already up to date',
  )
  process.exit(EXIT.OK)
}

async function status(): Promise<void> {
  const client = await connectWithRetry({
    url: config.DATABASE_URL,
    applicationName: 'stack-migrate',
    waitTimeoutMs: config.MIGRATE_WAIT_TIMEOUT_MS,
    signal: controller.signal,
  })
  try {
    const state = await schemaState(client, folder)
    for (const tag of state.applied) log.info({ migration: tag, state: 'applied' }, 'applied')
    for (const tag of state.pending) log.info({ migration: tag, state: 'pending' }, 'pending')
    log.info(
      {
        applied: state.applied.length,
        pending: state.pending.length,
        changed: state.changed,
        unknown: state.unknown,
      },
      state.current ? 'schema up to date' : 'migrations pending',
    )
    process.exitCode = state.current ? EXIT.OK : EXIT.FAILURE
  } finally {
    await client.end()
  }
}
