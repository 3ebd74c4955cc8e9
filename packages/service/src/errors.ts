import createError from '@fastify/error'

// Errors the plumbing raises itself; routes raise their own from their service's errors.ts.
export const ShedError = createError('SVC_OVERLOADED', 'The server is overloaded (%s); retry later', 503)
export const NotFoundError = createError('SVC_NOT_FOUND', 'Route %s %s not found', 404)
// The answers of the error handler (plugins/problem.ts) for what is not an error of ours already.
export const ValidationError = createError('VALIDATION_FAILED', 'invalid %s: %s', 400)
export const DatabaseUnavailableError = createError(
  'DB_UNAVAILABLE',
  'The database is unavailable; retry later.',
  503,
)
export const InternalError = createError(
  'INTERNAL',
  'An unexpected error occurred; quote request id %s when reporting it.',
  500,
)
/** A client error Fastify or a plugin raised without a code of its own. */
export const BadRequestError = createError('BAD_REQUEST', '%s', 400)
export const InvalidUtf8BodyError = createError('SVC_INVALID_UTF8', 'The body is not valid UTF-8', 400)
// The database refused the request's data (SQLSTATE classes 22 and 23); see database-error.ts.
export const DataInvalidError = createError(
  'SVC_DATA_INVALID',
  'A value in the request cannot be stored',
  400,
)
export const DataConflictError = createError(
  'SVC_DATA_CONFLICT',
  'The request conflicts with data already stored',
  409,
)
export const DataConstraintError = createError(
  'SVC_DATA_CONSTRAINT',
  'The request breaks a rule of the stored data',
  422,
)
// A readiness check's reason for failing, written to be shown in the public /health/ready body.
export const CheckFailedError = createError('SVC_CHECK_FAILED', '%s', 503)

// Requests refused before routing (see client-error.ts and plugins/require-host.ts).
export const RequestTimeoutError = createError(
  'SVC_REQUEST_TIMEOUT',
  'The request did not arrive in full within %d ms',
  408,
)
export const HeadersTooLargeError = createError(
  'SVC_HEADERS_TOO_LARGE',
  'The request headers are larger than this server accepts',
  431,
)
// 400, not RFC 9110's 501: a method the parser does not know is the client's error, and no request
// a client can send may draw a 5xx (the reliability suite's bad-input properties hold us to that).
export const UnknownMethodError = createError(
  'SVC_UNKNOWN_METHOD',
  'The request method is not one this server knows',
  400,
)
export const MalformedRequestError = createError('SVC_MALFORMED_REQUEST', 'Malformed HTTP request: %s', 400)
export const MissingHostError = createError(
  'SVC_MISSING_HOST',
  'An HTTP/1.1 request needs a Host header',
  400,
)

// Bearer-token verification (plugins/auth.ts). The details name the rule, never the token.
export const MissingTokenError = createError(
  'AUTH_MISSING_TOKEN',
  'This route needs a bearer token: Authorization: Bearer <token>',
  401,
)
export const InvalidTokenError = createError('AUTH_INVALID_TOKEN', 'The bearer token is refused: %s', 401)
export const AuthScopeError = createError('AUTH_INSUFFICIENT_SCOPE', 'The token lacks the scope %s', 403)
export const AuthKeysUnavailableError = createError(
  'AUTH_KEYS_UNAVAILABLE',
  "The issuer's signing keys cannot be fetched; retry later",
  503,
)
