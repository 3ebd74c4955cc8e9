import pg from 'pg'
import { connectWithRetry } from './connect.js'
import { CancelledError, describe, LockTimeoutError, MigrationFailedError } from './errors.js'
import { type Migration, readMigrations } from './files.js'
import { MIGRATIONS_SCHEMA, MIGRATIONS_TABLE, schemaState } from './state.js'

/**
 * One lock for every runner of a database. Advisory locks are scoped to the database, so two
 * databases on one server do not wait for each other. ('stackmig' as ASCII, below 2^63.)
 */
export const LOCK_KEY = '8319104481256483175'

export interface Logger {
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
}

export interface RunOptions {
  url: string
  migrationsFolder: string
  waitTimeoutMs: number
  lockTimeoutMs: number
  applicationName?: string
  /** Aborting cancels the running statement, rolls back, releases the lock and rejects. */
  signal?: AbortSignal
  logger?: Logger
}

export interface RunSummary {
  applied: { tag: string; durationMs: number }[]
  skipped: number
  lockWaitMs: number
  durationMs: number
}

const silent: Logger = { info: () => {}, warn: () => {} }

/**
 * Applies pending migrations exactly once however many runners start at once: each takes a session
 * advisory lock on its own connection, re-reads what is applied under the lock, and applies each
 * pending migration in its own transaction together with its record.
 */
export async function runMigrations(options: RunOptions): Promise<RunSummary> {
  const started = performance.now()
  const log = options.logger ?? silent
  const { signal } = options
  const migrations = readMigrations(options.migrationsFolder)

  const client = await connectWithRetry({
    url: options.url,
    applicationName: options.applicationName ?? 'stack-migrate',
    waitTimeoutMs: options.waitTimeoutMs,
    signal,
    onRetry: (info) => log.warn(info, 'database not reachable yet, retrying'),
  })

  const onAbort = () => void cancelRunningStatement(options.url, client)
  signal?.addEventListener('abort', onAbort, { once: true })
  let locked = false
  try {
    const lockStarted = performance.now()
    await lock(client, options.lockTimeoutMs)
    locked = true
    const lockWaitMs = Math.round(performance.now() - lockStarted)

    // Read under the lock: another runner may have applied everything while we waited.
    await client.query(`create schema if not exists ${MIGRATIONS_SCHEMA}`)
    await client.query(
      `create table if not exists ${MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE} (id serial primary key, hash text not null, created_at bigint)`,
    )
    const state = await schemaState(client, options.migrationsFolder)
    if (state.changed.length > 0) {
      log.warn(
        { changed: state.changed },
        'applied migrations were edited afterwards; their new contents are not applied',
      )
    }
    const pending = migrations.filter((m) => state.pending.includes(m.tag))

    const applied: RunSummary['applied'] = []
    for (const migration of pending) {
      if (signal?.aborted) throw cancelled()
      const durationMs = await apply(client, migration, signal)
      applied.push({ tag: migration.tag, durationMs })
      log.info({ migration: migration.tag, durationMs }, 'migration applied')
    }
    return {
      applied,
      skipped: migrations.length - pending.length,
      lockWaitMs,
      durationMs: Math.round(performance.now() - started),
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
    if (locked) await client.query('select pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {})
    // Ending the session would release the lock anyway; the explicit unlock is for a pooled proxy.
    await client.end().catch(() => {})
  }
}

async function lock(client: pg.Client, timeoutMs: number): Promise<void> {
  // lock_timeout bounds the wait for any lock, advisory locks included; it is reset at once, so
  // that migrations themselves are not cut short by it.
  await client.query(`set lock_timeout = ${Math.trunc(timeoutMs)}`)
  try {
    await client.query('select pg_advisory_lock($1)', [LOCK_KEY])
  } catch (err) {
    if ((err as { code?: string }).code === '55P03') {
      throw new LockTimeoutError(timeoutMs, { cause: err })
    }
    throw mapCancel(err)
  } finally {
    await client.query('set lock_timeout = 0').catch(() => {})
  }
}

async function apply(client: pg.Client, migration: Migration, signal?: AbortSignal): Promise<number> {
  const started = performance.now()
  await client.query('begin')
  try {
    for (const [i, statement] of migration.statements.entries()) {
      if (signal?.aborted) throw cancelled()
      try {
        await client.query(statement)
      } catch (err) {
        throw mapCancel(
          err,
          () =>
            new MigrationFailedError(migration.tag, i + 1, migration.statements.length, describe(err), {
              cause: err,
            }),
        )
      }
    }
    await client.query(
      `insert into ${MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE} (hash, created_at) values ($1, $2)`,
      [migration.hash, migration.millis],
    )
    await client.query('commit')
  } catch (err) {
    await client.query('rollback').catch(() => {})
    throw err
  }
  return Math.round(performance.now() - started)
}

function cancelled(): Error {
  return new CancelledError('by signal; the running migration was rolled back')
}

function mapCancel(err: unknown, otherwise: () => Error = () => err as Error): Error {
  // 57014 query_canceled: our own cancel request after a signal.
  return (err as { code?: string }).code === '57014' ? cancelled() : otherwise()
}

/** Cancels whatever `client` is running, from a second connection (the protocol's cancel request). */
async function cancelRunningStatement(url: string, client: pg.Client): Promise<void> {
  const pid = (client as unknown as { processID?: number }).processID
  if (!pid) return
  const canceller = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
  canceller.on('error', () => {})
  try {
    await canceller.connect()
    await canceller.query('select pg_cancel_backend($1)', [pid])
  } catch {
    // The run fails on its own when the connection goes; nothing more to do here.
  } finally {
    await canceller.end().catch(() => {})
  }
}
