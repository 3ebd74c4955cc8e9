import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { REQUEST_ID_HEADER } from '../request-id.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false keeps a route out of the request log (health probes). */
    logRequest?: boolean
  }
}

/**
 * One line per request as it ends (see lifecycle.ts): method, route template, status, duration, and
 * `aborted: true` when the client left before the answer. Fastify's own two lines per request are
 * turned off (disableRequestLogging). The id is echoed for correlation.
 */
async function requestLog(app: FastifyInstance) {
  app.addHook('onRequest', async (req, reply) => {
    reply.header(REQUEST_ID_HEADER, req.id)
  })
  app.lifecycle.onRequestEnd(({ req, status, aborted, durationMs }) => {
    if (req.routeOptions.config.logRequest === false) return
    req.log.info(
      {
        method: req.method,
        route: req.routeOptions.url ?? null,
        url: req.url,
        status,
        ...(aborted && { aborted }),
        durationMs: Math.round(durationMs * 100) / 100,
        ip: req.ip,
        // Who, never with what: the token stays out of every line.
        ...(req.caller && { sub: req.caller.subject }),
      },
      'request completed',
    )
  })
}

export default fp(requestLog, { name: 'request-log', fastify: '5.x', dependencies: ['lifecycle'] })
