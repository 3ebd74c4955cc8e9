import createError from '@fastify/error'

// Errors the plumbing raises itself; routes raise their own from their service's errors.ts.
export const ServiceUnavailableError = createError('SVC_UNAVAILABLE', 'Service unavailable: %s', 503)
export const ShedError = createError('SVC_OVERLOADED', 'The server is overloaded (%s); retry later', 503)
export const NotFoundError = createError('SVC_NOT_FOUND', 'Route %s %s not found', 404)

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
export const MethodNotImplementedError = createError(
  'SVC_METHOD_NOT_IMPLEMENTED',
  'The request method is not one this server implements',
  501,
)
export const MalformedRequestError = createError('SVC_MALFORMED_REQUEST', 'Malformed HTTP request: %s', 400)
export const MissingHostError = createError(
  'SVC_MISSING_HOST',
  'An HTTP/1.1 request needs a Host header',
  400,
)
