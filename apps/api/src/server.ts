import { ConfigError } from '@stack/config'
import { loggerOptions, serve } from '@stack/service'
import { pino } from 'pino'
import { buildApp, SERVICE_NAME } from './app.js'
import { type ApiConfig, loadApiConfig } from './config.js'

// The process: configuration, logger, signals, listen. One of the two places that may exit.
let config: ApiConfig
try {
  config = loadApiConfig()
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`${SERVICE_NAME}: ${err.message}\n`)
  process.exit(2)
}

const logger = pino(
  loggerOptions({ level: config.LOG_LEVEL, service: SERVICE_NAME, version: config.SERVICE_VERSION }),
)
const app = await buildApp(config, { logger })
process.exit(await serve(app, config))
