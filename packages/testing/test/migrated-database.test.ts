import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  type MigrationRunner,
  migratedDatabase,
  type PostgresServer,
  startPostgres,
  testMigrationsFolder,
} from '../src/index.js'

let server: PostgresServer
beforeAll(async () => {
  server = await startPostgres()
})
afterAll(() => server?.destroy())

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(sql)).rows
  } finally {
    await client.end()
  }
}

describe('migratedDatabase', () => {
  it('gives a database of its own, migrated by the runner with the folder it was given', async () => {
    const calls: { url: string; migrationsFolder: string }[] = []
    const runner: MigrationRunner = async (options) => {
      calls.push(options)
      await query(options.url, 'create table migrated (id int)')
    }
    const database = await migratedDatabase('/the/service/drizzle', runner, { adminUrl: server.url })
    try {
      expect(calls).toEqual([
        expect.objectContaining({ url: database.url, migrationsFolder: '/the/service/drizzle' }),
      ])
      expect(await query(database.url, 'select count(*)::int as n from migrated')).toEqual([{ n: 0 }])
    } finally {
      await database.drop()
    }
  })

  it('drops the database when the migrations fail, and says why', async () => {
    let url = ''
    const failing: MigrationRunner = async (options) => {
      url = options.url
      throw new Error('migration 0001 failed')
    }
    await expect(migratedDatabase('/x', failing, { adminUrl: server.url })).rejects.toThrow(
      'migration 0001 failed',
    )
    const name = new URL(url).pathname.slice(1)
    expect(await query(server.url, `select datname from pg_database where datname = '${name}'`)).toEqual([])
  })
})

describe('TEST_MIGRATIONS_DIR (pnpm check:compat)', () => {
  afterEach(() => {
    delete process.env.TEST_MIGRATIONS_DIR
  })

  it("migrates with the folder it names instead of the service's own", async () => {
    process.env.TEST_MIGRATIONS_DIR = '/a/newer/revision/drizzle'
    const folders: string[] = []
    const runner: MigrationRunner = async (options) => {
      folders.push(options.migrationsFolder)
    }
    const database = await migratedDatabase('/the/service/drizzle', runner, { adminUrl: server.url })
    await database.drop()
    expect(folders).toEqual(['/a/newer/revision/drizzle'])
    expect(testMigrationsFolder('/the/service/drizzle')).toBe('/a/newer/revision/drizzle')
  })
})
