import { createServer } from 'node:net'
import { databaseVars, loadConfig } from '@stack/config'
import { createTestDatabase, type TestDatabase } from '@stack/testing'
import { desc, sql } from 'drizzle-orm'
import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase, TimeoutError } from '../src/index.js'

// A table of this test's own: the package knows no service's tables, each service passes its schema.
const items = pgTable('items', {
  id: uuid().primaryKey().defaultRandom(),
  itemName: text().notNull(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
})
const schema = { items }

let database: TestDatabase
beforeAll(async () => {
  database = await createTestDatabase()
  const { db, close } = open({ DATABASE_URL: database.url })
  await db.execute(
    sql`create table items (id uuid primary key default gen_random_uuid(), item_name text not null check (item_name <> ''), created_at timestamptz not null default now())`,
  )
  await close()
})
afterAll(() => database?.drop())

const open = (env: Record<string, string>) =>
  createDatabase(loadConfig(databaseVars, env), { applicationName: 'db-test', onIdleError: () => {}, schema })

describe('createDatabase', () => {
  it('pings, sets application_name and statement_timeout, and writes through drizzle with snake_case', async () => {
    const { db, ping, close } = open({ DATABASE_URL: database.url, DATABASE_STATEMENT_TIMEOUT_MS: '1234' })
    try {
      await ping()
      const settings = await db.execute<{ app: string; timeout: string }>(
        sql`select current_setting('application_name') as app, current_setting('statement_timeout') as timeout`,
      )
      expect(settings.rows[0]).toEqual({ app: 'db-test', timeout: '1234ms' })
      const [item] = await db.insert(items).values({ itemName: 'hello' }).returning()
      expect(item).toMatchObject({ itemName: 'hello', createdAt: expect.any(Date) })
      await expect(db.insert(items).values({ itemName: '' })).rejects.toThrow()
      const rows = await db.select().from(items).orderBy(desc(items.createdAt))
      expect(rows.map((r) => r.id)).toContain(item?.id)
      // The schema given is the one `db.query` knows.
      expect(await db.query.items.findFirst({ where: (t, { eq }) => eq(t.id, item?.id ?? '') })).toEqual(item)
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
