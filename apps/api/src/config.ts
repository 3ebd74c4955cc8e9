import { type Config, databaseVars, type Env, loadConfig, pressureVars, serverVars } from '@stack/config'

export const apiVars = { ...serverVars, ...pressureVars, ...databaseVars }
export type ApiConfig = Config<typeof apiVars>

/** Reads and validates the environment once; throws a ConfigError naming every bad variable. */
export function loadApiConfig(env?: Env): ApiConfig {
  return loadConfig(apiVars, env)
}
