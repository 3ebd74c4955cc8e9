export { loggerOptions } from './logger.js'
export { containerMemoryLimit, memoryThresholds, oldGenerationLimit, rssPressure } from './memory-limit.js'
// The decorators of a service's `app` (app.db and app.database, app.lifecycle, app.metrics,
// app.pressure, app.readiness): these type exports carry each plugin's `declare module 'fastify'`
// to the services.
export { ALGORITHMS, BEARER_SCHEME, type Caller, type RouteAuth } from './plugins/auth.js'
export type { ServiceTables } from './plugins/database.js'
export type { Lifecycle } from './plugins/lifecycle.js'
export { type Metrics, UNMATCHED_ROUTE } from './plugins/metrics.js'
export type { PressureOptions } from './plugins/pressure.js'
export { isDatabaseUnavailable, PROBLEM_TYPE } from './plugins/problem.js'
export type { Readiness } from './plugins/readiness.js'
export { VERSION_HEADER } from './plugins/version.js'
export { commonErrors, ProblemSchema, ref, StorableText, UUID_PATTERN } from './schemas.js'
export { createService, parseTrustProxy, type Service } from './service.js'
