import type { DatabaseConfig } from '@stack/db'
import { createDatabase, type Database, type Db } from '@stack/db'
import { schemaState } from '@stack/migrate'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { CheckFailedError } from '../errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** drizzle over the service's pool. */
    db: Db
    database: Database
  }
}

export interface DatabasePluginOptions {
  config: DatabaseConfig
  applicationName: string
  /** The migrations this build expects to be applied; readiness fails until they are. */
  migrationsFolder: string
}

async function database(app: FastifyInstance, opts: DatabasePluginOptions) {
  const database = createDatabase(opts.config, {
    applicationName: opts.applicationName,
    onIdleError: (err) => app.log.warn({ err }, 'idle database connection lost'),
  })
  app.decorate('database', database)
  app.decorate('db', database.db)

  // The public body names the failing check, not the address (pg's "connect ECONNREFUSED host:port").
  app.readiness.add('database', () =>
    database.ping().catch((err: unknown) => {
      throw new CheckFailedError('database unreachable', { cause: err })
    }),
  )

  // Migrations only ever add to the schema, so once it is current it stays current: from then on a
  // probe costs one `select 1`.
  let schemaCurrent = false
  app.readiness.add('migrations', async () => {
    if (schemaCurrent) return
    const state = await schemaState(database.pool, opts.migrationsFolder)
    if (!state.current) {
      const cause = new Error(`pending migrations: ${state.pending.join(', ')}`)
      throw new CheckFailedError('migrations pending', { cause })
    }
    schemaCurrent = true
  })

  // Verify at start without holding up listen(): with the database down the replica still starts,
  // answers liveness, and reports itself unready until the database appears.
  app.addHook('onReady', async () => {
    database.ping().then(
      () => app.log.info('database reachable'),
      (err: Error) => app.log.warn({ err: err.message }, 'database not reachable yet; readiness reports it'),
    )
  })

  app.addHook('onClose', async () => {
    await database.close()
    app.log.info('database pool closed')
  })
}

export default fp(database, { name: 'database', fastify: '5.x', dependencies: ['readiness'] })
