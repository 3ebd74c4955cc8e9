export { ConfigError, type ConfigIssue } from './errors.js'
export { type Config, childEnv, type Env, loadConfig } from './load.js'
export {
  authVars,
  databaseVars,
  metricsVars,
  migrateVars,
  pressureVars,
  serverVars,
  tracingVars,
} from './parts.js'
export { bool, int, num, oneOf, port, requiredWith, str, Type, url } from './vars.js'
