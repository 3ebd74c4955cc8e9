import type { authVars, Config } from '@stack/config'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { errors, type JWTPayload, jwtVerify } from 'jose'
import { AuthKeysUnavailableError, AuthScopeError, InvalidTokenError, MissingTokenError } from '../errors.js'
import { ProblemSchema } from '../schemas.js'
import { KeysUnavailable, SigningKeys } from '../signing-keys.js'

/** What a route needs: `false` for a public one; by default, a valid token (and these scopes, all of them). */
export type RouteAuth = false | { scopes?: readonly string[] }

/** The caller, once its token is verified. */
export interface Caller {
  /** The token's `sub`: who the caller is at the issuer. */
  subject: string
  scopes: ReadonlySet<string>
  claims: Readonly<JWTPayload>
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Every route needs a valid bearer token unless it says `auth: false`; `{ scopes }` asks for more. */
    auth?: RouteAuth
  }
  interface FastifyRequest {
    /** The verified caller; null on a public route, or while authentication is off. */
    caller: Caller | null
  }
}

/** The name routes' `security` refers to in the OpenAPI document (plugins/openapi.ts declares it). */
export const BEARER_SCHEME = 'bearerAuth'

// Asymmetric only: the keys are public, so an HMAC "signed" with one proves nothing, and `none`
// proves less. jose also refuses a key whose type does not fit the header's alg.
export const ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]

export interface AuthOptions {
  /** authVars; AUTH_ISSUER unset (or a service without authVars) turns verification off. */
  config: Partial<Config<typeof authVars>>
}

/**
 * Bearer-token verification: every route needs a JWT the issuer signed for this audience, unless its
 * config says `auth: false` (the probes and the OpenAPI document do), and the scopes its config names.
 * 401 (WWW-Authenticate: Bearer) without a valid token, 403 without a scope, 503 when the token needs
 * a key the issuer's endpoint cannot give now. The token is never logged; the request's line names
 * the subject (request-log.ts reads req.caller).
 */
async function auth(app: FastifyInstance, opts: AuthOptions) {
  const { config } = opts
  app.decorateRequest('caller', null)

  // The document says what each route needs whether or not this process checks it: it is the
  // contract of the service as deployed, not of a development run.
  app.addHook('onRoute', (route) => {
    if (route.schema?.hide) return
    const needs = route.config?.auth
    route.schema ??= {}
    const schema = route.schema as { security?: unknown; response?: Record<string, unknown> }
    if (needs === false) {
      schema.security = []
      return
    }
    schema.security = [{ [BEARER_SCHEME]: [...(needs?.scopes ?? [])] }]
    schema.response = { 401: ProblemSchema, 403: ProblemSchema, ...schema.response }
  })

  if (!config.AUTH_ISSUER) {
    // Transitional (this release): the service runs open until an issuer is configured.
    app.log.warn('authentication is off: AUTH_ISSUER is unset')
    return
  }
  const issuer = config.AUTH_ISSUER
  const audience = config.AUTH_AUDIENCE
  if (!audience) throw new Error('AUTH_AUDIENCE is required when AUTH_ISSUER is set')

  const keys = new SigningKeys({
    issuer,
    ...(config.AUTH_JWKS_URL ? { jwksUrl: config.AUTH_JWKS_URL } : {}),
    timeoutMs: config.AUTH_KEYS_TIMEOUT_MS ?? 2000,
    minIntervalMs: config.AUTH_KEYS_MIN_INTERVAL_MS ?? 30_000,
    maxAgeMs: config.AUTH_KEYS_MAX_AGE_MS ?? 600_000,
    onFetch: (event) => {
      if (event.ok) app.log.info({ url: event.url, keys: event.keys }, 'fetched signing keys')
      else app.log.warn({ url: event.url, error: event.error }, 'cannot fetch signing keys')
    },
  })
  const verifyOptions = {
    issuer,
    audience,
    algorithms: ALGORITHMS,
    clockTolerance: config.AUTH_CLOCK_TOLERANCE_S ?? 30,
    requiredClaims: ['exp', 'sub'],
  }

  app.addHook('onRequest', async (req, reply) => {
    const needs = req.routeOptions.config.auth
    // Unknown routes stay 404 and CORS preflights (which never carry credentials) stay answerable.
    if (needs === false || req.is404 || req.method === 'OPTIONS') return
    const token = bearerToken(req)
    if (token === undefined) {
      reply.header('www-authenticate', 'Bearer')
      throw new MissingTokenError()
    }
    let payload: JWTPayload
    try {
      ;({ payload } = await jwtVerify(token, keys.getKey, verifyOptions))
    } catch (err) {
      if (err instanceof KeysUnavailable) {
        reply.header('retry-after', '5')
        throw new AuthKeysUnavailableError()
      }
      const reason = rejection(err)
      reply.header('www-authenticate', `Bearer error="invalid_token", error_description="${reason}"`)
      throw new InvalidTokenError(reason)
    }
    // requiredClaims checks that `sub` is there, not that it is a string (RFC 7519 §4.1.2).
    if (typeof payload.sub !== 'string' || payload.sub === '') {
      const reason = 'the sub claim is not what this service accepts'
      reply.header('www-authenticate', `Bearer error="invalid_token", error_description="${reason}"`)
      throw new InvalidTokenError(reason)
    }
    const caller: Caller = {
      subject: payload.sub,
      scopes: scopesOf(payload),
      claims: payload,
    }
    req.caller = caller
    const missing = (needs?.scopes ?? []).filter((s) => !caller.scopes.has(s))
    if (missing.length > 0) {
      insufficientScope(reply, needs?.scopes ?? [])
      throw new AuthScopeError(missing.join(' '))
    }
  })
}

/** The token of `Authorization: Bearer <token>` (RFC 6750 §2.1), or undefined when there is none. */
function bearerToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization
  if (header === undefined) return undefined
  const match = /^Bearer +([^\s]+) *$/i.exec(header)
  // "Basic …", a bare "Bearer": no bearer token. A token of the wrong shape is jose's to refuse.
  return match?.[1]
}

function insufficientScope(reply: FastifyReply, scopes: readonly string[]) {
  reply.header('www-authenticate', `Bearer error="insufficient_scope", scope="${scopes.join(' ')}"`)
}

/** `scope` (RFC 8693: space-separated) and `scp` (an array, or Entra ID's space-separated string). */
function scopesOf(payload: JWTPayload): Set<string> {
  const scopes = new Set<string>()
  for (const claim of [payload.scope, payload.scp]) {
    const list = typeof claim === 'string' ? claim.split(' ') : Array.isArray(claim) ? claim : []
    for (const s of list) if (typeof s === 'string' && s !== '') scopes.add(s)
  }
  return scopes
}

/**
 * Why a token was refused, in words safe to send back and to log: jose's messages name the claim
 * or the rule, never the token's contents, but its errors carry the payload, so they are not logged.
 */
function rejection(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired'
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'the token is not valid yet'
    // No double quotes: the reason is also a quoted-string of WWW-Authenticate (RFC 9110 §11.4).
    return `the ${err.claim} claim is not what this service accepts`
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the token is not signed with an allowed algorithm'
  if (err instanceof errors.JWKSNoMatchingKey)
    return 'the token is signed with a key the issuer does not publish'
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the signature does not verify'
  if (
    err instanceof errors.JWTInvalid ||
    err instanceof errors.JWSInvalid ||
    err instanceof errors.JOSENotSupported
  ) {
    return 'the token is malformed'
  }
  return 'the token cannot be verified'
}

export default fp(auth, { name: 'auth', fastify: '5.x', dependencies: ['problems'] })
