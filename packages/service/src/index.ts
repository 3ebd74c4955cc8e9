export { NotFoundError, ServiceUnavailableError, ShedError } from './errors.js'
export { type LoggerSettings, logDestination, loggerOptions } from './logger.js'
export {
  containerMemoryLimit,
  type MemorySample,
  type MemoryThresholds,
  memoryThresholds,
  oldGenerationLimit,
  rssPressure,
} from './memory-limit.js'
// Type-only re-exports also bring each plugin's `declare module 'fastify'` decorators to users.
export type { DatabasePluginOptions } from './plugins/database.js'
export type { Lifecycle } from './plugins/lifecycle.js'
export { type Metrics, type MetricsOptions, UNMATCHED_ROUTE } from './plugins/metrics.js'
export type { OpenApiOptions } from './plugins/openapi.js'
export type { PressureOptions } from './plugins/pressure.js'
export { isDatabaseUnavailable, PROBLEM_TYPE, type Problem, sendProblem } from './plugins/problem.js'
export type { Readiness, ReadinessReport } from './plugins/readiness.js'
export type {} from './plugins/request-log.js'
export { REQUEST_ID_HEADER } from './request-id.js'
export {
  commonErrors,
  ProblemDefinition,
  ProblemSchema,
  ref,
  STORABLE_TEXT_PATTERN,
  StorableText,
  UUID_PATTERN,
} from './schemas.js'
export { EXIT, serve } from './serve.js'
export {
  createService,
  parseTrustProxy,
  type Service,
  type ServiceConfig,
  type ServiceOptions,
} from './service.js'
