import cors from '@fastify/cors'
import helmet from '@fastify/helmet'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export interface SecurityOptions {
  /** Allowed origins; empty leaves CORS off (no Access-Control-* headers at all). */
  corsOrigins: string[]
}

/** Headers for a JSON API: nothing may frame, embed or script it. CORS only for listed origins. */
async function security(app: FastifyInstance, opts: SecurityOptions) {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
    },
    frameguard: { action: 'deny' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    // HSTS belongs to whoever terminates TLS: the proxy sets it for its hosts.
    strictTransportSecurity: false,
  })
  if (opts.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: opts.corsOrigins,
      methods: ['GET', 'POST', 'PATCH', 'DELETE'],
      maxAge: 600,
    })
  }
}

export default fp(security, { name: 'security', fastify: '5.x' })
