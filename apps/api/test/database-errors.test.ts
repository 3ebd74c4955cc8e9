import type { TestDatabase } from '@stack/testing'
import { NO_SHEDDING } from '@stack/testing'
import pg from 'pg'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.js'
import { migratedDatabase, testConfig } from './helpers.js'

// When PostgreSQL refuses what the schemas let through, the answer is still a 4xx with a code, and
// neither the answer nor the log repeats the user's values. The refusals are real: this file's own
// database gets a unique index, a CHECK constraint, a narrower column and a failing trigger.

let database: TestDatabase
let app: Awaited<ReturnType<typeof buildApp>>
let client: pg.Client
const lines: string[] = []

beforeAll(async () => {
  database = await migratedDatabase()
  client = new pg.Client({ connectionString: database.url })
  await client.connect()
  await client.query(`
    create unique index notes_unique_title on notes (title) where title like 'unique-%';
    alter table notes add constraint notes_not_forbidden check (title not like 'forbidden-%');
    alter table notes alter column body type varchar(20);
    create function notes_explode() returns trigger language plpgsql as $$
      begin
        if new.title like 'explode-%' then raise exception 'notes trigger failed'; end if;
        return new;
      end $$;
    create trigger notes_explode before insert or update on notes
      for each row execute function notes_explode();
  `)
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) })
  app = await buildApp(testConfig({ DATABASE_URL: database.url, ...NO_SHEDDING }), { logger })
  await app.ready()
})
afterAll(async () => {
  await app?.close()
  await client?.end()
  await database?.drop()
})

const SECRET = 'S3CRET-users-text'

async function rowCount() {
  return Number((await client.query('select count(*) from notes')).rows[0].count)
}

describe('PostgreSQL refusing the data is a 4xx, never a 500', () => {
  it.each([
    ['a unique violation (23505)', { title: `unique-${SECRET}` }, 409, 'SVC_DATA_CONFLICT'],
    ['a CHECK violation (23514)', { title: `forbidden-${SECRET}` }, 422, 'SVC_DATA_CONSTRAINT'],
    [
      'a value too long for the column (22001)',
      { title: 't', body: `${SECRET}-${SECRET}` },
      400,
      'SVC_DATA_INVALID',
    ],
  ])('%s', async (_name, payload, status, code) => {
    if (status === 409) {
      const first = await app.inject({ method: 'POST', url: '/v1/notes', payload })
      expect(first.statusCode, first.body).toBe(201)
    }
    const before = await rowCount()
    const logged = lines.length
    const res = await app.inject({ method: 'POST', url: '/v1/notes', payload })
    expect(res.statusCode, res.body).toBe(status)
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(res.json()).toMatchObject({ status, code })
    expect(res.body).not.toContain(SECRET)
    expect(await rowCount()).toBe(before)
    const newLines = lines.slice(logged).join('\n')
    expect(newLines).toMatch(/database refused the request data/)
    expect(newLines).not.toContain(SECRET)
  })

  it('a PATCH refused by a constraint leaves the note as it was', async () => {
    const note = (await app.inject({ method: 'POST', url: '/v1/notes', payload: { title: 'kept' } })).json()
    const res = await app.inject({
      method: 'PATCH',
      url: `/v1/notes/${note.id}`,
      payload: { title: `forbidden-${SECRET}` },
    })
    expect(res.statusCode).toBe(422)
    expect((await app.inject({ method: 'GET', url: `/v1/notes/${note.id}` })).json().title).toBe('kept')
  })
})

describe('the log line of a 500 from a query', () => {
  it('has the SQLSTATE and the statement, not the parameters', async () => {
    const logged = lines.length
    const res = await app.inject({
      method: 'POST',
      url: '/v1/notes',
      payload: { title: `explode-${SECRET}`, body: 'body-SECRET-2' },
    })
    expect(res.statusCode).toBe(500)
    expect(res.body).not.toContain(SECRET)
    const newLines = lines.slice(logged)
    const all = newLines.join('\n')
    expect(all).not.toContain(SECRET)
    expect(all).not.toContain('body-SECRET-2')
    const failed = newLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'request failed')
    expect(failed, newLines.join('\n')).toBeDefined()
    expect(failed.query).toMatchObject({
      sqlState: 'P0001',
      message: 'notes trigger failed',
      statement: expect.stringMatching(/^insert into "notes"/),
    })
    expect(failed.query.stack).toMatch(/^ {4}at /)
  })
})
