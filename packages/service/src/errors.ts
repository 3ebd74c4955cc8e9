import createError from '@fastify/error'

// Errors the plumbing raises itself; routes raise their own from their service's errors.ts.
export const ServiceUnavailableError = createError('SVC_UNAVAILABLE', 'Service unavailable: %s', 503)
export const ShedError = createError('SVC_OVERLOADED', 'The server is overloaded (%s); retry later', 503)
export const NotFoundError = createError('SVC_NOT_FOUND', 'Route %s %s not found', 404)
export const InvalidUtf8BodyError = createError('SVC_INVALID_UTF8', 'The body is not valid UTF-8', 400)
