import type { Service } from '@stack/service'
import { type TestDatabase, testMigrationsFolder } from '@stack/testing'
import { desc, sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrationsFolder } from '../../src/db/migrations.js'
import { NOTE_TITLE_MAX, notes } from '../../src/db/schema/index.js'
import { migratedDatabase, testApp } from '../helpers.js'

// The API's tables as its migrations create them, through the app's own pool (app.db).
let database: TestDatabase
let app: Service
beforeAll(async () => {
  database = await migratedDatabase()
  app = await testApp({ DATABASE_URL: database.url })
})
afterAll(async () => {
  await app?.close()
  await database?.drop()
})

describe('notes', () => {
  it('columns are snake_case, defaults and checks hold in the database', async () => {
    const [note] = await app.db.insert(notes).values({ title: 'hello' }).returning()
    expect(note).toMatchObject({ title: 'hello', body: '', createdAt: expect.any(Date) })
    const columns = await app.db.execute<{ name: string }>(
      sql`select column_name as name from information_schema.columns where table_name = 'notes' order by ordinal_position`,
    )
    const names = columns.rows.map((c) => c.name)
    const declared = ['id', 'title', 'body', 'created_at', 'updated_at']
    // On a newer revision's migrations (pnpm check:compat) a column added since is the expand step
    // of a change, not drift: the columns this code uses must be there, others may be too.
    if (testMigrationsFolder(migrationsFolder) === migrationsFolder) expect(names).toEqual(declared)
    else expect(names).toEqual(expect.arrayContaining(declared))
    await expect(app.db.insert(notes).values({ title: '' })).rejects.toThrow()
    await expect(app.db.insert(notes).values({ title: 'x'.repeat(NOTE_TITLE_MAX + 1) })).rejects.toThrow()
    const rows = await app.db.select().from(notes).orderBy(desc(notes.createdAt))
    expect(rows.map((r) => r.id)).toContain(note?.id)
    // app.db knows this service's tables (ServiceTables in src/db/schema/index.ts).
    expect(await app.db.query.notes.findFirst({ where: (t, { eq }) => eq(t.id, note?.id ?? '') })).toEqual(
      note,
    )
  })

  it('the keyset query uses the (created_at, id) index', async () => {
    await app.db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`)
      const plan = await tx.execute<{ 'QUERY PLAN': string }>(
        sql`explain select * from notes where (created_at, id) < (now(), gen_random_uuid()) order by created_at desc, id desc limit 20`,
      )
      expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(
        /Index Scan Backward using notes_created_at_id_idx/,
      )
    })
  })
})
