export { ConfigError, type ConfigIssue } from './errors.js'
export { type Config, childEnv, type Env, loadConfig } from './load.js'
export { databaseVars, devVars, migrateVars, pressureVars, serverVars, testVars } from './parts.js'
export { bool, int, num, oneOf, port, str, url } from './vars.js'
