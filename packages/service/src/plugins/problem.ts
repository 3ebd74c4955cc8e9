import { isUnavailable } from '@stack/db'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { chain, clientDataError, queryErrorLog } from '../database-error.js'
import {
  BadRequestError,
  DatabaseUnavailableError,
  InternalError,
  NotFoundError,
  ValidationError,
} from '../errors.js'
import { type Problem, ProblemDefinition } from '../schemas.js'

export const PROBLEM_TYPE = 'application/problem+json'

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

/** True when `err` (or an error it wraps, as drizzle does) means the database is unavailable. */
export function isDatabaseUnavailable(err: unknown): boolean {
  return chain(err).some(isUnavailable)
}

export function sendProblem(
  req: FastifyRequest,
  reply: FastifyReply,
  problem: Omit<Problem, 'type' | 'title' | 'instance' | 'requestId'> & { title?: string },
) {
  const body: Problem = {
    type: 'about:blank',
    title: problem.title ?? TITLES[problem.status] ?? 'Error',
    instance: req.url,
    requestId: req.id,
    ...problem,
  }
  return reply.code(problem.status).type(PROBLEM_TYPE).send(body)
}

/** A @fastify/error as problem+json: its code, its message as the detail, its status unless `status` says otherwise. */
function sendError(
  req: FastifyRequest,
  reply: FastifyReply,
  err: FastifyError,
  extra: { status?: number; errors?: Problem['errors'] } = {},
) {
  return sendProblem(req, reply, {
    status: extra.status ?? err.statusCode ?? 500,
    code: err.code,
    detail: err.message,
    ...(extra.errors ? { errors: extra.errors } : {}),
  })
}

async function problems(app: FastifyInstance) {
  // At the root, so every route's `ProblemSchema` reference resolves, and the document has it once.
  app.addSchema(ProblemDefinition)

  app.setNotFoundHandler((req, reply) =>
    sendError(req, reply, new NotFoundError(req.method, req.url.split('?')[0])),
  )

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err.validation) {
      // Ajv stops at the first error (allErrors is off: with it, a body of many unknown keys made an
      // answer of megabytes; docs/performance.md). The cap and the truncation bound the answer for a
      // validator that reports more, or a path made of a client's long keys.
      const errors = err.validation.slice(0, MAX_REPORTED_ERRORS).map((v) => ({
        field: truncate(
          `${err.validationContext ?? 'request'}${v.instancePath || ''}${missingProperty(v.params)}`,
        ),
        message: truncate(v.message ?? 'is invalid'),
      }))
      const detail = errors.map((e) => `${e.field} ${e.message}`).join('; ')
      return sendError(req, reply, new ValidationError(err.validationContext ?? 'request', detail), {
        errors,
      })
    }

    if (isDatabaseUnavailable(err)) {
      // The cause is what matters here; drizzle's wrapper repeats the whole query and stack.
      req.log.warn({ cause: rootMessage(err) }, 'database unavailable')
      reply.header('retry-after', '1')
      return sendError(req, reply, new DatabaseUnavailableError())
    }

    const refused = clientDataError(err)
    if (refused) {
      // A value the schema should have refused: worth fixing there, so it is logged (without values).
      req.log.warn({ query: queryErrorLog(err) }, 'database refused the request data')
      return sendError(req, reply, refused)
    }

    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
    if (status < 500) {
      // Client errors (malformed JSON, too large, wrong media type, our own 404s) are safe to explain.
      return sendError(req, reply, err.code ? err : new BadRequestError(err.message), { status })
    }
    if (status === 503 && err.code) {
      // Our own 503s (shedding) carry a deliberate, safe message.
      return sendError(req, reply, err)
    }
    // Anything else is a bug or an outage: log what there is to know (for a query, everything but
    // its parameters: users' titles and bodies must not end up in the logs), tell the client nothing internal.
    const query = queryErrorLog(err)
    if (query) req.log.error({ query }, 'request failed')
    else req.log.error({ err }, 'request failed')
    return sendError(req, reply, new InternalError(req.id), { status })
  })
}

function rootMessage(err: unknown): string {
  let e = err as Error
  while (e.cause instanceof Error) e = e.cause
  return describeError(e)
}

function describeError(e: Error): string {
  const code = (e as { code?: string }).code
  return code && !e.message.includes(code) ? `${e.message} (${code})` : e.message
}

const MAX_REPORTED_ERRORS = 10
const MAX_FIELD_CHARS = 200

function truncate(text: string): string {
  return text.length > MAX_FIELD_CHARS ? `${text.slice(0, MAX_FIELD_CHARS)}…` : text
}

function missingProperty(params: unknown): string {
  const missing = (params as { missingProperty?: string } | undefined)?.missingProperty
  return missing ? `/${missing}` : ''
}

export default fp(problems, { name: 'problems', fastify: '5.x' })
