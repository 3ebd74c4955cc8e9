import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { MissingHostError } from '../errors.js'

/**
 * HTTP/1.1 requires a Host header (RFC 9112 §3.2). Node checks it itself and answers an empty 400
 * that skips our error format, so that check is off (`requireHostHeader: false` in service.ts)
 * and made here instead, after the security and request-id headers are set.
 */
async function requireHost(app: FastifyInstance) {
  app.addHook('onRequest', async (req, reply) => {
    if (req.raw.httpVersion === '1.1' && req.headers.host === undefined) {
      reply.header('connection', 'close')
      throw new MissingHostError()
    }
  })
}

export default fp(requireHost, { name: 'require-host', fastify: '5.x', dependencies: ['security'] })
