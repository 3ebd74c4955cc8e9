export { createTestDatabase, type TestDatabase } from './database.js'
export { freePort } from './free-port.js'
export { type RequestOptions, type Response, request } from './http.js'
export { type MigrationRunner, migratedDatabase, testMigrationsFolder } from './migrated-database.js'
export { migrationsWith } from './migrations-with.js'
export { type OtlpPost, type OtlpReceiver, otlpReceiver } from './otlp-receiver.js'
export { type Backend, type PostgresServer, startPostgres } from './postgres-server.js'
export { type ProcessStats, processStats, type RssSampler, sampleRss } from './process-stats.js'
export { connect, type RawResponse, rawRequest, readResponse } from './raw-http.js'
export {
  type Exit,
  type LogLine,
  type ServerProcess,
  type SpawnOptions,
  spawnServer,
} from './server-process.js'
export {
  type IssuerKey,
  type IssuerMode,
  type SignOptions,
  startTestIssuer,
  type TestIssuer,
  unsignedToken,
} from './test-issuer.js'
export { NO_SHEDDING, testVars } from './vars.js'
export { type WaitOptions, waitForStatus } from './wait-for-status.js'
