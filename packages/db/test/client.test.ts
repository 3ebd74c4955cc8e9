import { createServer } from 'node:net'
import { databaseVars, loadConfig } from '@stack/config'
import { createTestDatabase, type TestDatabase } from '@stack/testing'
import { desc, sql } from 'drizzle-orm'
import { migrate } from 'drizzle-orm/node-postgres/migrator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase, migrationsFolder, schema, TimeoutError } from '../src/index.js'

let database: TestDatabase
beforeAll(async () => {
  database = await createTestDatabase()
  // drizzle-orm's own migrator (no lock: one caller here); @stack/migrate depends on this package.
  const { db, close } = open({ DATABASE_URL: database.url })
  await migrate(db, { migrationsFolder })
  await close()
})
afterAll(() => database?.drop())

const open = (env: Record<string, string>) =>
  createDatabase(loadConfig(databaseVars, env), { applicationName: 'db-test', onIdleError: () => {} })

describe('createDatabase', () => {
  it('pings, sets application_name and statement_timeout, and writes through drizzle with snake_case', async () => {
    const { db, ping, close } = open({ DATABASE_URL: database.url, DATABASE_STATEMENT_TIMEOUT_MS: '1234' })
    try {
      await ping()
      const settings = await db.execute<{ app: string; timeout: string }>(
        sql`select current_setting('application_name') as app, current_setting('statement_timeout') as timeout`,
      )
      expect(settings.rows[0]).toEqual({ app: 'db-test', timeout: '1234ms' })
      const [note] = await db.insert(schema.notes).values({ title: 'hello' }).returning()
      expect(note).toMatchObject({ title: 'hello', body: '', createdAt: expect.any(Date) })
      await expect(db.insert(schema.notes).values({ title: '' })).rejects.toThrow()
      const rows = await db.select().from(schema.notes).orderBy(desc(schema.notes.createdAt))
      expect(rows.map((r) => r.id)).toContain(note?.id)
    } finally {
      await close()
    }
  })

  it('the keyset query uses the (created_at, id) index', async () => {
    const { db, close } = open({ DATABASE_URL: database.url })
    try {
      await db.execute(sql`set enable_seqscan = off`)
      const plan = await db.execute<{ 'QUERY PLAN': string }>(
        sql`explain select * from notes where (created_at, id) < (now(), gen_random_uuid()) order by created_at desc, id desc limit 20`,
      )
      expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(
        /Index Scan Backward using notes_created_at_id_idx/,
      )
    } finally {
      await close()
    }
  })

  it('ping rejects within DATABASE_PING_TIMEOUT_MS when the server never answers', async () => {
    const silent = createServer(() => {}).listen(0, '127.0.0.1')
    await new Promise((r) => silent.once('listening', r))
    const { port } = silent.address() as { port: number }
    const { ping, close } = open({
      DATABASE_URL: `postgres://u:p@127.0.0.1:${port}/db`,
      DATABASE_PING_TIMEOUT_MS: '200',
      DATABASE_CONNECT_TIMEOUT_MS: '5000',
    })
    const started = performance.now()
    await expect(ping()).rejects.toBeInstanceOf(TimeoutError)
    // The ping's own 200 ms ended it, not the pool's 5 s connect timeout: a bound between the two.
    expect(performance.now() - started).toBeLessThan(4000)
    await close()
    silent.close()
  })
})
