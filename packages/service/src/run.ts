import { type Config, ConfigError, type tracingVars } from '@stack/config'
import type { FastifyBaseLogger } from 'fastify'
import { EXIT } from './exit.js'
import type { Service, ServiceConfig } from './service.js'

/** What runService needs of a service's configuration: the server's parts and tracing's. */
export type RunConfig = ServiceConfig & Config<typeof tracingVars>

/** The module of a service's app.ts. */
export interface AppModule<C extends RunConfig> {
  buildApp(config: C, options: { logger: FastifyBaseLogger }): Promise<Service>
}

export interface RunOptions<C extends RunConfig> {
  /** The `service` of every log line, the trace resource's name unless OTEL_SERVICE_NAME says otherwise. */
  name: string
  /** Reads and validates the environment; throws a ConfigError naming every bad variable. */
  loadConfig: () => C
  /** `() => import('./app.js')`: imported only once tracing has patched `http` and `pg`. */
  app: () => Promise<AppModule<C>>
}

/**
 * The process of every service, and one of the places that may exit: configuration (exit 2 and one
 * line `<name>: <message>` on stderr when it is invalid), tracing, the logger, then serve()'s
 * listen-and-drain, whose code it exits with.
 *
 * Only the configuration is imported statically, here and in a service's server.ts. Tracing has to patch `http`
 * and `pg` before the first import of either, so Fastify, pg and the app come in through dynamic
 * imports after it; with OTEL_EXPORTER_OTLP_ENDPOINT unset no OpenTelemetry package is loaded at all.
 */
export async function runService<C extends RunConfig>(options: RunOptions<C>): Promise<never> {
  let config: C
  try {
    config = options.loadConfig()
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`${options.name}: ${err.message}\n`)
    process.exit(EXIT.CONFIG)
  }

  const tracing = config.OTEL_EXPORTER_OTLP_ENDPOINT
    ? (await import('./tracing.js')).startTracing({
        serviceName: config.OTEL_SERVICE_NAME ?? options.name,
        version: config.SERVICE_VERSION,
        endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
        headers: config.OTEL_EXPORTER_OTLP_HEADERS,
        ratio: config.OTEL_TRACES_SAMPLER_ARG,
        ignorePorts: config.METRICS_ENABLED && config.METRICS_PORT !== undefined ? [config.METRICS_PORT] : [],
      })
    : undefined

  const [{ logDestination, loggerOptions }, { serve }, { pino }, { buildApp }] = await Promise.all([
    import('./logger.js'),
    import('./serve.js'),
    import('pino'),
    options.app(),
  ])
  const logger = pino(
    {
      ...loggerOptions({ level: config.LOG_LEVEL, service: options.name, version: config.SERVICE_VERSION }),
      ...(tracing ? { mixin: tracing.logFields } : {}),
    },
    logDestination(config.LOG_BUFFER_BYTES),
  )
  let code: number
  try {
    code = await serve(await buildApp(config, { logger }), config)
  } catch (err) {
    // buildApp failed (a plugin refused its options): say so in the log, where the operator looks.
    logger.fatal({ err }, 'cannot start')
    code = EXIT.FAILURE
  }
  await tracing?.shutdown()
  process.exit(code)
}
