export { MigrateError } from './errors.js'
export { readMigrations } from './files.js'
export { LOCK_KEY, type RunOptions, type RunSummary, runMigrations } from './runner.js'
export { type SchemaState, schemaState } from './state.js'
