import createError from '@fastify/error'

/** The database did not answer a ping in time; the problem handler counts DB_TIMEOUT as "database unavailable". */
export const TimeoutError = createError('DB_TIMEOUT', 'database did not answer within %d ms', 503)
