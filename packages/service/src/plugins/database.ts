import { createDatabase, type Database, type DatabaseConfig } from '@stack/db'
import { schemaState } from '@stack/migrate'
import type { NodePgDatabase } from 'drizzle-orm/node-postgres'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { CheckFailedError } from '../errors.js'

/**
 * The tables of the service being compiled, for the type of `app.db`. Each service with a database
 * names its schema once (src/db/schema/index.ts):
 *
 *   declare module '@stack/service' { interface ServiceTables { tables: typeof import('./index.js') } }
 *
 * A program holds one service, so one global declaration is exact; without it `app.db` knows no
 * tables (queries through the builder still type-check against the table objects they name).
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by each service's declaration merging
export interface ServiceTables {}
export type Tables = ServiceTables extends { tables: infer T extends Record<string, unknown> }
  ? T
  : Record<string, never>

declare module 'fastify' {
  interface FastifyInstance {
    /** drizzle over the service's pool, typed with its tables (see ServiceTables). */
    db: NodePgDatabase<Tables>
    database: Database<Tables>
  }
}

export interface DatabasePluginOptions {
  config: DatabaseConfig
  applicationName: string
  /** The service's drizzle tables (src/db/schema). */
  schema: Tables
  /** The migrations this build expects to be applied; readiness fails until they are. */
  migrationsFolder: string
}

async function database(app: FastifyInstance, opts: DatabasePluginOptions) {
  const database = createDatabase(opts.config, {
    applicationName: opts.applicationName,
    onIdleError: (err) => app.log.warn({ err }, 'idle database connection lost'),
    schema: opts.schema,
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
