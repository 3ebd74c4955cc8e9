import { createTestDatabase, type TestDatabase } from '@stack/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readMigrations, runMigrations, schemaState } from '../src/index.js'
import { migrationsFolder, migrationsWith, recorded, tables } from './helpers.js'

let database: TestDatabase
beforeAll(async () => {
  database = await createTestDatabase()
})
afterAll(() => database?.drop())

const options = () => ({ url: database.url, migrationsFolder, waitTimeoutMs: 5000, lockTimeoutMs: 5000 })

async function state(folder = migrationsFolder) {
  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  try {
    return await schemaState(client, folder)
  } finally {
    await client.end()
  }
}

describe('runMigrations', () => {
  it('reports every shipped migration as pending on an empty database', async () => {
    const s = await state()
    expect(s.current).toBe(false)
    expect(s.pending).toEqual(readMigrations(migrationsFolder).map((m) => m.tag))
    expect(s.pending).toContain('0000_init')
  })

  it('applies every migration on a fresh database, then a second run is a no-op', async () => {
    const first = await runMigrations(options())
    expect(first.applied.map((a) => a.tag)).toEqual(readMigrations(migrationsFolder).map((m) => m.tag))
    expect(await tables(database.url)).toEqual(['items'])
    expect((await state()).current).toBe(true)

    const second = await runMigrations(options())
    expect(second.applied).toEqual([])
    expect(second.skipped).toBe(first.applied.length)
    expect((await recorded(database.url)).every((r) => r.n === 1)).toBe(true)
  })

  it('applies only the new migration when one is added, and readiness sees the gap until then', async () => {
    const folder = migrationsWith([
      { tag: '9001_tags', sql: 'create table tags (id serial primary key, name text not null);' },
    ])
    const before = await state(folder)
    expect(before).toMatchObject({ current: false, pending: ['9001_tags'] })

    const run = await runMigrations({ ...options(), migrationsFolder: folder })
    expect(run.applied.map((a) => a.tag)).toEqual(['9001_tags'])
    expect(await tables(database.url)).toEqual(['items', 'tags'])

    // The older build (without 9001) still counts the schema as current: a newer one migrated it.
    expect(await state()).toMatchObject({ current: true, unknown: 1 })
  })

  it('records migrations in drizzle-orm’s own table and format', async () => {
    const rows = await recorded(database.url)
    const hashes = readMigrations(migrationsFolder).map((m) => m.hash)
    for (const hash of hashes) expect(rows.map((r) => r.hash)).toContain(hash)
  })
})
