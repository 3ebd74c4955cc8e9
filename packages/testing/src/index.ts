export { createTestDatabase, type TestDatabase } from './database.js'
export { freePort } from './free-port.js'
export { type RequestOptions, type Response, request } from './http.js'
export { type Backend, type PostgresServer, startPostgres } from './postgres-server.js'
