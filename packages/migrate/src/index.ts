export { connectWithRetry, hostAndPort } from './connect.js'
export { EXIT, MigrateError, type MigrateErrorCode } from './errors.js'
export { type Migration, readMigrations } from './files.js'
export { LOCK_KEY, type Logger, type RunOptions, type RunSummary, runMigrations } from './runner.js'
export {
  MIGRATIONS_SCHEMA,
  MIGRATIONS_TABLE,
  type Queryable,
  type SchemaState,
  schemaState,
} from './state.js'
