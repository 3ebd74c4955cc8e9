import { createService, type Service } from '@stack/service'
import type { FastifyBaseLogger } from 'fastify'
import { type AppConfig, SERVICE_NAME } from './config.js'
import { migrationsFolder } from './db/migrations.js'
import * as schema from './db/schema/index.js'
import notes from './routes/v1/notes/index.js'

export interface BuildOptions {
  /** runService passes its pino instance; tests pass false or their own. */
  logger?: FastifyBaseLogger | false
}

/** The API: the shared plumbing plus this service's routes. It does not listen (runService in server.ts does). */
export async function buildApp(config: AppConfig, options: BuildOptions = {}): Promise<Service> {
  const app = await createService(config, {
    name: SERVICE_NAME,
    logger: options.logger ?? false,
    database: { config, schema, migrationsFolder },
    readinessTimeoutMs: config.DATABASE_PING_TIMEOUT_MS,
  })
  await app.register(notes, { prefix: '/v1/notes' })
  return app
}
