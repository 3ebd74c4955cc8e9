import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import { applyMigration, cancelled } from './apply.js'
import { connectWithRetry } from './connect.js'
import { LockTimeoutError } from './errors.js'
import { readMigrations } from './files.js'
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
  /** lock_timeout of every migration statement; default 3000. */
  statementLockTimeoutMs?: number
  /** statement_timeout of every migration statement; default one hour. */
  statementTimeoutMs?: number
  /** Retries of a migration whose statement hit its lock timeout; default 5. */
  lockRetries?: number
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
    await lock(client, options.lockTimeoutMs, signal)
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
      const durationMs = await applyMigration(client, migration, {
        url: options.url,
        statementLockTimeoutMs: options.statementLockTimeoutMs ?? 3000,
        statementTimeoutMs: options.statementTimeoutMs ?? 3_600_000,
        lockRetries: options.lockRetries ?? 5,
        signal,
        onRetry: (info) => log.warn(info, 'a statement waited too long for a lock; rolled back, retrying'),
      })
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

/**
 * Polls pg_try_advisory_lock instead of waiting in pg_advisory_lock: a session waiting inside a
 * statement holds a snapshot, and CREATE INDEX CONCURRENTLY (run by the lock's holder) waits for
 * every older snapshot to go, while the waiter waits for the holder: a deadlock (flyway#1654).
 * Between polls this session runs nothing, so it holds no snapshot.
 */
async function lock(client: pg.Client, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (let delay = 50; ; delay = Math.min(delay * 2, 1000)) {
    if (signal?.aborted) throw cancelled()
    const { rows } = await client
      .query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [LOCK_KEY])
      .catch((err: unknown) => {
        throw mapCancel(err)
      })
    if (rows[0]?.locked) return
    const left = deadline - Date.now()
    if (left <= 0) throw new LockTimeoutError(timeoutMs)
    await sleep(Math.min(delay, left), undefined, { signal }).catch(() => {})
  }
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
