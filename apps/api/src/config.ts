import {
  type Config,
  databaseVars,
  type Env,
  loadConfig,
  metricsVars,
  pressureVars,
  serverVars,
  tracingVars,
} from '@stack/config'

/** Also app.ts's SERVICE_NAME; here so server.ts can name itself before it may import the app. */
export const SERVICE_NAME = 'api'

export const apiVars = { ...serverVars, ...pressureVars, ...databaseVars, ...metricsVars, ...tracingVars }
export type ApiConfig = Config<typeof apiVars>

/** Reads and validates the environment once; throws a ConfigError naming every bad variable. */
export function loadApiConfig(env?: Env): ApiConfig {
  return loadConfig(apiVars, env)
}
