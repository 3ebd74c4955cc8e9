import type { FastifyError } from 'fastify'
import { DataConflictError, DataConstraintError, DataInvalidError } from './errors.js'

/** What node-postgres reports for an error PostgreSQL sent (pg's DatabaseError fields we use). */
interface PgError extends Error {
  code: string
  severity?: string
  constraint?: string
  table?: string
  column?: string
  routine?: string
}

const SQLSTATE = /^[0-9A-Z]{5}$/

/** `err` and the errors it wraps (`cause`), outermost first, at most five deep. */
export function chain(err: unknown): Error[] {
  const errors: Error[] = []
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) errors.push(e)
  return errors
}

/** The PostgreSQL error in `err` or what it wraps (drizzle wraps it in a DrizzleQueryError). */
export function postgresError(err: unknown): PgError | undefined {
  return chain(err).find(
    (e): e is PgError => 'severity' in e && SQLSTATE.test(String((e as { code?: unknown }).code)),
  )
}

/**
 * Data exceptions (class 22) and integrity violations (class 23) are the request's fault: a value the
 * schema let through but a column or constraint refuses. The answer says which kind, never the
 * value (PostgreSQL's message and detail quote it).
 */
export function clientDataError(err: unknown): FastifyError | undefined {
  const code = postgresError(err)?.code
  if (code === undefined) return undefined
  if (code.startsWith('22')) return new DataInvalidError()
  if (code === '23505' || code === '23P01') return new DataConflictError()
  if (code.startsWith('23')) return new DataConstraintError()
  return undefined
}

/**
 * What a log line may say about a failed query: the SQLSTATE, the statement and where it failed, but
 * not its parameters. drizzle's message and stack repeat them ("Failed query: … params: <title>,
 * <body>"), and PostgreSQL's message and detail quote values for classes 22 and 23.
 */
export function queryErrorLog(err: unknown): Record<string, unknown> | undefined {
  const errors = chain(err)
  const pg = postgresError(err)
  const query = errors.find((e) => typeof (e as { query?: unknown }).query === 'string' && 'params' in e)
  if (!pg && !query) return undefined
  const quotesValues = pg !== undefined && /^2[23]/.test(pg.code)
  return {
    sqlState: pg?.code,
    severity: pg?.severity,
    message: pg && !quotesValues ? pg.message : undefined,
    constraint: pg?.constraint,
    table: pg?.table,
    column: pg?.column,
    routine: pg?.routine,
    statement: (query as { query?: string } | undefined)?.query,
    // Only the frames: the first line of a stack is the message, with the parameters in it.
    stack: (errors[0]?.stack ?? '')
      .split('\n')
      .filter((line) => line.startsWith('    at '))
      .join('\n'),
  }
}
