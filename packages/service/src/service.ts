import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { authVars, Config, metricsVars, pressureVars, serverVars } from '@stack/config'
import type { DatabaseConfig } from '@stack/db'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  LogController,
  type RawServerDefault,
} from 'fastify'
import { clientErrorHandler } from './client-error.js'
import auth from './plugins/auth.js'
import database, { type Tables } from './plugins/database.js'
import health from './plugins/health.js'
import jsonBody from './plugins/json-body.js'
import lifecycle from './plugins/lifecycle.js'
import metrics from './plugins/metrics.js'
import openapi from './plugins/openapi.js'
import pressure from './plugins/pressure.js'
import problems, { sendProblem } from './plugins/problem.js'
import readiness from './plugins/readiness.js'
import requestLog from './plugins/request-log.js'
import requireHost from './plugins/require-host.js'
import security, { SECURITY_HEADERS } from './plugins/security.js'
import version from './plugins/version.js'
import { REQUEST_ID_HEADER, requestId } from './request-id.js'
import { strictBodyValidators } from './validation.js'

/**
 * A service that composes metricsVars gets /metrics (on by default); one that does not, none. One
 * that composes authVars verifies bearer tokens once AUTH_ISSUER is set (plugins/auth.ts).
 */
export type ServiceConfig = Config<typeof serverVars> &
  Config<typeof pressureVars> &
  Partial<Config<typeof metricsVars>> &
  Partial<Config<typeof authVars>>

export type Service = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

export interface ServiceOptions {
  name: string
  /** A pino instance (runService builds it) or false for none (tests). */
  logger: FastifyBaseLogger | false
  /** Omit for a service without a database. `schema` is its drizzle tables (src/db/schema). */
  database?: { config: DatabaseConfig; schema: Tables; migrationsFolder: string }
  /** How long each readiness check may take: below the probes' timeout. */
  readinessTimeoutMs?: number
}

/**
 * A Fastify instance with the production plumbing every service shares: lifecycle and graceful
 * shutdown state, readiness and liveness, problem+json errors, one log line per request, security
 * headers, load shedding, Prometheus metrics, OpenAPI, and (optionally) a PostgreSQL pool. It does not listen.
 */
export async function createService(config: ServiceConfig, options: ServiceOptions): Promise<Service> {
  const app = Fastify<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    genReqId: requestId,
    requestIdHeader: false,
    // request-log.ts writes one line per request instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    // Node checks both timeouts only every connectionsCheckingInterval (30 s by default) and cuts
    // slow headers at its own 60 s headersTimeout: a byte-a-second client held a socket for a
    // minute whatever REQUEST_TIMEOUT_MS said. Checked ten times per timeout (at most every second),
    // headers and body are both cut within REQUEST_TIMEOUT_MS plus a tenth (or a second).
    http: {
      headersTimeout: config.REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: Math.min(1000, Math.ceil(config.REQUEST_TIMEOUT_MS / 10)),
      // Node's own check answers an empty 400; plugins/require-host.ts answers a problem instead.
      requireHostHeader: false,
    },
    // Requests Node's parser rejects, and timeouts, are problem+json too (see client-error.ts).
    clientErrorHandler: clientErrorHandler(config.REQUEST_TIMEOUT_MS),
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: parseTrustProxy(config.TRUST_PROXY),
    // Requests that reach us while closing are served (with Connection: close), not refused:
    // the proxy sent them before it saw our readiness go 503.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Errors Fastify raises before routing (a malformed %-escape in the path…) are problem+json too.
    frameworkErrors: (error, req, reply) => {
      // They skip the onRequest hooks: the headers and the request's end are not set up there.
      app.lifecycle.track(req, reply)
      reply.headers(SECURITY_HEADERS).header(REQUEST_ID_HEADER, req.id)
      sendProblem(req, reply, { status: error.statusCode ?? 400, code: error.code, detail: error.message })
    },
    schemaController: { compilersFactory: { buildValidator: strictBodyValidators() as never } },
  }).withTypeProvider<TypeBoxTypeProvider>()

  await app.register(lifecycle)
  await app.register(readiness, { timeoutMs: options.readinessTimeoutMs ?? 1000 })
  await app.register(problems)
  await app.register(jsonBody)
  await app.register(requestLog)
  await app.register(security, { corsOrigins: splitList(config.CORS_ORIGINS) })
  await app.register(version, { version: config.SERVICE_VERSION })
  await app.register(requireHost)
  await app.register(pressure, { config })
  await app.register(auth, { config })
  if (config.METRICS_ENABLED && config.METRICS_PORT !== undefined) {
    await app.register(metrics, {
      host: config.HOST,
      port: config.METRICS_PORT,
      service: options.name,
      version: config.SERVICE_VERSION,
    })
  }
  await app.register(openapi, { title: options.name, version: config.SERVICE_VERSION })
  if (options.database) {
    await app.register(database, { ...options.database, applicationName: options.name })
  }
  await app.register(health, { prefix: '/health' })
  return app
}

/** TRUST_PROXY: `true`, `false`, a hop count (trust the n nearest proxies) or addresses/CIDRs. */
export function parseTrustProxy(
  value: string,
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (value === 'true') return true
  if (value === 'false') return false
  if (/^\d+$/.test(value)) {
    const hops = Number(value)
    return (_address, hop) => hop < hops
  }
  return splitList(value)
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}
