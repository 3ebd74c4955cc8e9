import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'

export interface SecurityOptions {
  /** Allowed origins; empty leaves CORS off (no Access-Control-* headers at all). */
  corsOrigins: string[]
}

/** Headers for a JSON API: nothing may frame, embed or script it. */
export const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  },
  frameguard: { action: 'deny' },
  crossOriginResourcePolicy: { policy: 'same-origin' },
  // HSTS belongs to whoever terminates TLS: the proxy sets it for its hosts.
  strictTransportSecurity: false,
}

/**
 * The headers helmet sets for `options`, computed once. @fastify/helmet runs helmet's middleware on
 * every request, rebuilding the same static set each time (a third of the CPU of a request to
 * /health/live, docs/performance.md); none of ours depends on the request.
 */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  let done = false
  const res = {
    setHeader(name: string, value: string | number) {
      headers[name.toLowerCase()] = String(value)
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()]
    },
  }
  helmet(options)({} as never, res as never, (err?: unknown) => {
    if (err) throw err
    done = true
  })
  if (!done) throw new Error('helmet did not finish synchronously: its headers cannot be computed once')
  return headers
}

/** The security headers of every response, routed or not (client-error.ts writes them too). */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze(helmetHeaders(HELMET_OPTIONS))

/** Security headers on every response (404s and shed 503s too). CORS only for listed origins. */
async function security(app: FastifyInstance, opts: SecurityOptions) {
  app.addHook('onRequest', (_req, reply, done) => {
    reply.headers(SECURITY_HEADERS)
    done()
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
