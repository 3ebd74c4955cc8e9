import type { Config, databaseVars } from '@stack/config'
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres'
import pTimeout from 'p-timeout'
import pg from 'pg'
import { TimeoutError } from './errors.js'

export type DatabaseConfig = Config<typeof databaseVars>

/** A service's pool and drizzle over it, typed with that service's own tables. */
export interface Database<TSchema extends Record<string, unknown> = Record<string, never>> {
  db: NodePgDatabase<TSchema>
  pool: pg.Pool
  /** `select 1` through the pool, rejected after DATABASE_PING_TIMEOUT_MS whatever the pool is doing. */
  ping(): Promise<void>
  close(): Promise<void>
}

export interface DatabaseOptions<TSchema extends Record<string, unknown>> {
  /** Shown in pg_stat_activity; DATABASE_APPLICATION_NAME wins when set. */
  applicationName: string
  /** Errors of idle clients (the server restarted, a network blip). Without a listener pg crashes the process. */
  onIdleError: (err: Error) => void
  /** The service's drizzle tables (its `src/db/schema`), for typed queries and `db.query`. */
  schema: TSchema
}

export function createDatabase<TSchema extends Record<string, unknown>>(
  config: DatabaseConfig,
  options: DatabaseOptions<TSchema>,
): Database<TSchema> {
  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: config.DATABASE_POOL_MAX,
    // pg's default is to wait forever for a connection: a request must fail fast with a 503 instead.
    connectionTimeoutMillis: config.DATABASE_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: config.DATABASE_IDLE_TIMEOUT_MS,
    statement_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS,
    idle_in_transaction_session_timeout: config.DATABASE_STATEMENT_TIMEOUT_MS * 2,
    application_name: config.DATABASE_APPLICATION_NAME ?? options.applicationName,
    // The pool's idle timers must never keep a closing process alive.
    allowExitOnIdle: true,
  })
  pool.on('error', options.onIdleError)

  const db = drizzle({ client: pool, schema: options.schema, casing: 'snake_case' })
  let closed = false

  return {
    db,
    pool,
    ping: () =>
      pTimeout(
        pool.query('select 1').then(() => undefined),
        {
          milliseconds: config.DATABASE_PING_TIMEOUT_MS,
          message: new TimeoutError(config.DATABASE_PING_TIMEOUT_MS),
        },
      ),
    async close() {
      if (closed) return
      closed = true
      await pool.end()
    },
  }
}
