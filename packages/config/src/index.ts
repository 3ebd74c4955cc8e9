export { ConfigError, type ConfigIssue } from './errors.js'
export { type Config, childEnv, type Env, loadConfig } from './load.js'
export {
  databaseVars,
  metricsVars,
  migrateVars,
  pressureVars,
  serverVars,
  tracingVars,
} from './parts.js'
export { bool, int, num, oneOf, port, str, Type, url } from './vars.js'
