import createError from '@fastify/error'

/** The database did not answer a ping in time (DATABASE_PING_TIMEOUT_MS). */
export const TimeoutError = createError('DB_TIMEOUT', 'database did not answer within %d ms', 503)

// What "the database is not there right now" looks like from node-postgres, pg-pool and PostgreSQL
// itself: refused, reset or unroutable sockets (no route to the host or its network) and DNS without a record yet (a container starting),
// a server shutting down, crashed or still starting up (57P01-57P03), out of connection slots
// (53300), any connection exception (class 08), a statement cut short by statement_timeout (57014),
// a client's or the pool's connect timeout, and our own ping timeout. Worth a retry; never the request's fault.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'DB_TIMEOUT',
  '57014',
  '57P01',
  '57P02',
  '57P03',
  '53300',
])
const UNAVAILABLE_MESSAGES =
  /timeout exceeded when trying to connect|timeout expired|Connection terminated|connection timeout|Client has encountered a connection error/i

/** True when `err` itself (not what it wraps: callers walk causes as their errors nest) means the database is unavailable. */
export function isUnavailable(err: Error): boolean {
  const code = (err as { code?: unknown }).code
  return (
    (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) ||
    UNAVAILABLE_MESSAGES.test(err.message)
  )
}
