import { setTimeout as sleep } from 'node:timers/promises'
// The light subpath: the classification only, not drizzle's query builder.
import { isUnavailable } from '@stack/db/errors'
import pg from 'pg'
import { CancelledError, ConnectRefusedError, describe, UnreachableError } from './errors.js'

export interface ConnectOptions {
  url: string
  applicationName: string
  /** Give up after this long; 0 means one attempt. */
  waitTimeoutMs: number
  signal?: AbortSignal
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void
}

/** A connected client, retried with exponential backoff (100 ms doubling to 2 s) within the wait. */
export async function connectWithRetry(options: ConnectOptions): Promise<pg.Client> {
  const { url, waitTimeoutMs, signal } = options
  const target = hostAndPort(url)
  const deadline = Date.now() + waitTimeoutMs
  for (let attempt = 1, delay = 100; ; attempt++, delay = Math.min(delay * 2, 2000)) {
    if (signal?.aborted) throw new CancelledError('while waiting for the database')
    const client = new pg.Client({
      connectionString: url,
      application_name: options.applicationName,
      connectionTimeoutMillis: Math.max(1000, Math.min(5000, deadline - Date.now())),
    })
    // An idle client's socket errors (server shut down) must not crash the process; queries still reject.
    client.on('error', () => {})
    try {
      await client.connect()
      return client
    } catch (err) {
      await client.end().catch(() => {})
      const reason = describe(err)
      // Worth retrying while a database starts: nothing listens yet, DNS has no record for its
      // container yet, or PostgreSQL is up but still recovering. A wrong password is not.
      if (!attempts(err).some(isUnavailable)) {
        throw new ConnectRefusedError(target, reason, { cause: err })
      }
      const left = deadline - Date.now()
      if (left <= 0) {
        throw new UnreachableError(target, attempt, waitTimeoutMs, reason, { cause: err })
      }
      const wait = Math.min(delay, left)
      options.onRetry?.({ attempt, delayMs: wait, reason })
      await sleep(wait, undefined, { signal }).catch(() => {})
    }
  }
}

/** The error of each address tried: Node reports a host with several addresses as an AggregateError. */
function attempts(err: unknown): Error[] {
  const all = err instanceof AggregateError ? [err, ...err.errors] : [err]
  return all.filter((e): e is Error => e instanceof Error)
}

/** `host:port` of a connection URL, for messages: never the credentials. */
export function hostAndPort(url: string): string {
  const parsed = new URL(url)
  return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}`
}
