export {
  createDatabase,
  type Database,
  type DatabaseConfig,
  type DatabaseOptions,
  type Db,
  TimeoutError,
} from './client.js'
export { migrationsFolder } from './migrations.js'
export * as schema from './schema/index.js'
