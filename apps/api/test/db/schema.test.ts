import type { Service } from '@stack/service'
import { type TestDatabase, testMigrationsFolder } from '@stack/testing'
import { desc, sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrationsFolder } from '../../src/db/migrations.js'
import { NOTE_TITLE_MAX, notes } from '../../src/db/schema/index.js'
import { noteReads, ownedBy } from '../../src/routes/v1/notes/queries.js'
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
    const declared = ['id', 'title', 'body', 'created_at', 'updated_at', 'owner']
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

  /**
   * The plan of `query` with sequential scans, bitmap scans and sorts priced out: on a table this
   * small the planner would rather sort a few rows, so this shows what an index can serve. A Sort
   * still in the plan means no index gives the order.
   */
  async function plan(query: ReturnType<typeof sql>): Promise<string> {
    return app.db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`)
      await tx.execute(sql`set local enable_bitmapscan = off`)
      await tx.execute(sql`set local enable_sort = off`)
      const rows = await tx.execute<{ 'QUERY PLAN': string }>(sql`explain ${query}`)
      return rows.rows.map((r) => r['QUERY PLAN']).join('\n')
    })
  }

  it('the keyset query uses the (created_at, id) index', async () => {
    expect(
      await plan(
        sql`select * from notes where (created_at, id) < (now(), gen_random_uuid()) order by created_at desc, id desc limit 20`,
      ),
    ).toMatch(/Index Scan Backward using notes_created_at_id_idx/)
  })

  // The list as the routes send it (queries.ts), for an owner and for the anonymous one (auth off):
  // one backward scan of the (owner, created_at, id) index, in order, no sort, with or without a
  // cursor. EXPLAIN (GENERIC_PLAN) plans the statement with its $n unbound, as a prepared one is. On
  // an analyzed table of 200 owners and some owner-NULL notes from before auth.
  describe('per owner', () => {
    beforeAll(async () => {
      await app.db.execute(
        sql`insert into notes (title, owner) select 'n' || i, case when i % 200 = 0 then null else 'user-' || (i % 200) end from generate_series(1, 20000) i`,
      )
      await app.db.execute(sql`analyze notes`)
    })

    it.each([
      ['an owner', ownedBy(sql.placeholder('owner'))],
      ['the anonymous owner', ownedBy(null)],
    ])('the list queries use the (owner, created_at, id) index: %s', async (_name, owned) => {
      const reads = noteReads(app.db, owned)
      for (const query of [reads.newest, reads.olderThan]) {
        const text = await plan(sql.raw(`(generic_plan) ${query.toSQL().sql}`))
        expect(text).toMatch(/Index Scan Backward using notes_owner_created_at_id_idx/)
        expect(text).not.toMatch(/Sort/)
      }
    })
  })
})
