import { ConfigError } from '@stack/config'
import { type ApiConfig, loadApiConfig, SERVICE_NAME } from './config.js'

// The process: configuration, tracing, logger, signals, listen. One of the two places that may exit.
//
// Only the configuration is imported statically. Tracing has to patch `http` and `pg` before the
// first import of either, so Fastify, pg and the app come in through dynamic imports after it; with
// OTEL_EXPORTER_OTLP_ENDPOINT unset no OpenTelemetry package is loaded at all.
let config: ApiConfig
try {
  config = loadApiConfig()
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`${SERVICE_NAME}: ${err.message}\n`)
  process.exit(2)
}

const tracing = config.OTEL_EXPORTER_OTLP_ENDPOINT
  ? (await import('./tracing.js')).startTracing({
      serviceName: config.OTEL_SERVICE_NAME ?? SERVICE_NAME,
      version: config.SERVICE_VERSION,
      endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
      headers: config.OTEL_EXPORTER_OTLP_HEADERS,
      ratio: config.OTEL_TRACES_SAMPLER_ARG,
      ignorePorts: config.METRICS_ENABLED ? [config.METRICS_PORT] : [],
    })
  : undefined

const [{ logDestination, loggerOptions, serve }, { pino }, { buildApp }] = await Promise.all([
  import('@stack/service'),
  import('pino'),
  import('./app.js'),
])
const logger = pino(
  {
    ...loggerOptions({ level: config.LOG_LEVEL, service: SERVICE_NAME, version: config.SERVICE_VERSION }),
    ...(tracing ? { mixin: tracing.logFields } : {}),
  },
  logDestination(config.LOG_BUFFER_BYTES),
)
const app = await buildApp(config, { logger })
const code = await serve(app, config)
await tracing?.shutdown()
process.exit(code)
