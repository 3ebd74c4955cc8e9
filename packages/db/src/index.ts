export { createDatabase, type Database, type DatabaseConfig, type DatabaseOptions } from './client.js'
export { TimeoutError } from './errors.js'
