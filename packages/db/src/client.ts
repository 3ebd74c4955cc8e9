import type { Config, databaseVars } from '@stack/config'
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres'
import pg from 'pg'
import * as schema from './schema/index.js'

export type DatabaseConfig = Config<typeof databaseVars>
export type Db = NodePgDatabase<typeof schema>

export interface Database {
  db: Db
  pool: pg.Pool
  /** `select 1` through the pool, rejected after DATABASE_PING_TIMEOUT_MS whatever the pool is doing. */
  ping(): Promise<void>
  close(): Promise<void>
}

export interface DatabaseOptions {
  /** Shown in pg_stat_activity; DATABASE_APPLICATION_NAME wins when set. */
  applicationName: string
  /** Errors of idle clients (the server restarted, a network blip). Without a listener pg crashes the process. */
  onIdleError: (err: Error) => void
}

export function createDatabase(config: DatabaseConfig, options: DatabaseOptions): Database {
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

  const db = drizzle({ client: pool, schema, casing: 'snake_case' })
  let closed = false

  return {
    db,
    pool,
    ping: () =>
      withTimeout(
        pool.query('select 1').then(() => undefined),
        config.DATABASE_PING_TIMEOUT_MS,
      ),
    async close() {
      if (closed) return
      closed = true
      await pool.end()
    },
  }
}

export class TimeoutError extends Error {
  readonly code = 'DB_TIMEOUT'
  constructor(ms: number) {
    super(`database did not answer within ${ms} ms`)
    this.name = 'TimeoutError'
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(ms)), ms)
    timer.unref()
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
