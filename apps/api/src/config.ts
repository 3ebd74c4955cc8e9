import {
  authVars,
  type Config,
  databaseVars,
  type Env,
  loadConfig,
  metricsVars,
  pressureVars,
  serverVars,
  tracingVars,
} from '@stack/config'

/**
 * The `service` field of every log line, the metrics' `service` label and the trace resource's name.
 * Here, not in app.ts: server.ts names the service before it may import the app (tracing first).
 */
export const SERVICE_NAME = 'api'

/** The shared parts of the environment (@stack/config); every service has tracing and verifies tokens. */
export const configVars = {
  ...serverVars,
  ...pressureVars,
  ...databaseVars,
  ...metricsVars,
  ...tracingVars,
  ...authVars,
}
export type AppConfig = Config<typeof configVars>

/** Reads and validates the environment once; throws a ConfigError naming every bad variable. */
export function loadAppConfig(env?: Env): AppConfig {
  return loadConfig(configVars, env)
}
