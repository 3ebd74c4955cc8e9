import { setTimeout as sleep } from 'node:timers/promises'
import type pg from 'pg'
import { describeBlockers, watchBlockers } from './blocker.js'
import {
  CancelledError,
  describe,
  LockBlockedError,
  MigrationFailedError,
  NonTransactionalFailedError,
} from './errors.js'
import type { Migration } from './files.js'
import { MIGRATIONS_SCHEMA, MIGRATIONS_TABLE } from './state.js'

export interface ApplyOptions {
  url: string
  /** lock_timeout of each statement (ms). */
  statementLockTimeoutMs: number
  /** statement_timeout of each statement (ms). */
  statementTimeoutMs: number
  /** Attempts after the first one that hit the lock timeout. */
  lockRetries: number
  signal?: AbortSignal
  onRetry?: (info: { migration: string; attempt: number; delayMs: number; blockedBy: string }) => void
}

const LOCK_NOT_AVAILABLE = '55P03'

/** A statement gave up waiting for a lock: the attempt is undone and may be retried. */
class LockWait extends Error {
  constructor(
    readonly index: number,
    readonly blockedBy: string,
    override readonly cause: unknown,
  ) {
    super('lock timeout')
  }
}

/**
 * Applies one migration with its record, retrying with backoff when a statement hits its lock
 * timeout. A statement that waits for a lock puts every later query on that table in the queue
 * behind it; giving up after a short lock_timeout and trying again later keeps the queue short.
 */
export async function applyMigration(
  client: pg.Client,
  migration: Migration,
  options: ApplyOptions,
): Promise<number> {
  const started = performance.now()
  for (let attempt = 1; ; attempt++) {
    try {
      if (migration.transaction) await inTransaction(client, migration, options)
      else await oneByOne(client, migration, options)
      return Math.round(performance.now() - started)
    } catch (err) {
      if (!(err instanceof LockWait)) throw err
      const statement = migration.statements[err.index] ?? ''
      if (attempt > options.lockRetries) {
        throw new LockBlockedError(
          migration.tag,
          err.index + 1,
          migration.statements.length,
          statement.replace(/\s+/g, ' ').slice(0, 120),
          options.statementLockTimeoutMs,
          attempt,
          err.blockedBy,
          migration.transaction ? 'rolled back' : 'not recorded; rerun to continue',
          { cause: err.cause },
        )
      }
      // Backoff with jitter: the blocker may be a short transaction; several runners should not
      // line up again at the same instant.
      const delayMs = Math.round(Math.min(500 * 2 ** (attempt - 1), 10_000) * (0.75 + Math.random() / 2))
      options.onRetry?.({ migration: migration.tag, attempt, delayMs, blockedBy: err.blockedBy })
      await sleep(delayMs, undefined, { signal: options.signal }).catch(() => {})
      if (options.signal?.aborted) throw migration.transaction ? cancelled() : stoppedAt(migration, err.index)
    }
  }
}

async function inTransaction(client: pg.Client, migration: Migration, options: ApplyOptions) {
  await client.query('begin')
  try {
    // SET LOCAL: the limits end with the transaction, whatever happens.
    await client.query(`set local lock_timeout = ${Math.trunc(options.statementLockTimeoutMs)}`)
    await client.query(`set local statement_timeout = ${Math.trunc(options.statementTimeoutMs)}`)
    for (const [i, statement] of migration.statements.entries()) {
      await run(
        client,
        i,
        statement,
        options,
        (reason, cause) =>
          new MigrationFailedError(migration.tag, i + 1, migration.statements.length, reason, { cause }),
      )
    }
    await record(client, migration)
    await client.query('commit')
  } catch (err) {
    await client.query('rollback').catch(() => {})
    throw err
  }
}

async function oneByOne(client: pg.Client, migration: Migration, options: ApplyOptions) {
  // Session settings (no transaction to scope them to); reset after, whatever happens.
  await client.query(`set lock_timeout = ${Math.trunc(options.statementLockTimeoutMs)}`)
  await client.query(`set statement_timeout = ${Math.trunc(options.statementTimeoutMs)}`)
  try {
    for (const [i, statement] of migration.statements.entries()) {
      await dropInvalidIndex(client, statement)
      await run(
        client,
        i,
        statement,
        options,
        (reason, cause) =>
          new NonTransactionalFailedError(migration.tag, i + 1, migration.statements.length, reason, {
            cause,
          }),
        () => stoppedAt(migration, i),
      )
    }
    // Recorded only once every statement succeeded.
    await record(client, migration)
  } finally {
    await client.query('reset lock_timeout').catch(() => {})
    await client.query('reset statement_timeout').catch(() => {})
  }
}

async function run(
  client: pg.Client,
  i: number,
  statement: string,
  options: ApplyOptions,
  failed: (reason: string, cause: unknown) => Error,
  cancel: () => Error = cancelled,
): Promise<void> {
  if (options.signal?.aborted) throw cancel()
  const pid = (client as unknown as { processID: number }).processID
  const watch = watchBlockers(options.url, pid, Math.max(50, Math.trunc(options.statementLockTimeoutMs / 3)))
  try {
    await client.query(statement)
  } catch (err) {
    const blockers = await watch.stop()
    const code = (err as { code?: string }).code
    if (code === LOCK_NOT_AVAILABLE) throw new LockWait(i, describeBlockers(blockers), err)
    // 57014 is both our cancel after a signal and statement_timeout.
    if (code === '57014' && options.signal?.aborted) throw cancel()
    throw failed(describe(err), err)
  } finally {
    await watch.stop()
  }
}

/**
 * A CREATE INDEX CONCURRENTLY that failed (lock timeout, cancel, a duplicate in a unique index)
 * leaves its index behind, INVALID: never used, still maintained on every write, and `IF NOT
 * EXISTS` would skip it on a rerun. Before such a statement runs, an INVALID index of that name is
 * dropped, so the retry or rerun builds it again.
 */
async function dropInvalidIndex(client: pg.Client, statement: string): Promise<void> {
  const name = concurrentIndexName(statement)
  if (!name) return
  const { rows } = await client.query<{ regclass: string }>(
    `select c.oid::regclass::text as regclass from pg_index i join pg_class c on c.oid = i.indexrelid
      where not i.indisvalid and c.oid = to_regclass($1)`,
    [name],
  )
  for (const row of rows) await client.query(`drop index concurrently if exists ${row.regclass}`)
}

/** The index name of `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name`, as written (quoted or not). */
export function concurrentIndexName(statement: string): string | undefined {
  const sql = statement.replace(/^\s*(--[^\n]*\n\s*)*/, '')
  const match =
    /^create\s+(?:unique\s+)?index\s+concurrently\s+(?:if\s+not\s+exists\s+)?((?:"[^"]+"|[\w$]+)(?:\.(?:"[^"]+"|[\w$]+))?)/i.exec(
      sql,
    )
  return match?.[1]
}

async function record(client: pg.Client, migration: Migration): Promise<void> {
  await client.query(
    `insert into ${MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE} (hash, created_at) values ($1, $2)`,
    [migration.hash, migration.millis],
  )
}

export function cancelled(outcome = 'the running migration was rolled back'): Error {
  return new CancelledError(`by signal; ${outcome}`)
}

/** What a cancel leaves of a no-transaction migration stopped before statement `index` (0-based) ended. */
function stoppedAt(migration: Migration, index: number): Error {
  return cancelled(
    `migration ${migration.tag} (no-transaction) stopped at statement ${index + 1} of ${migration.statements.length}: ` +
      `the ${index === 0 ? 'migration changed nothing' : `${index} statement(s) before it stay applied`}, it is not recorded; rerun to continue`,
  )
}
