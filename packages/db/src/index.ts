export { createDatabase, type Database, type DatabaseConfig, type DatabaseOptions } from './client.js'
export { isUnavailable, TimeoutError } from './errors.js'
