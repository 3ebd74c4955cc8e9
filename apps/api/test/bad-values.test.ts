import type { TestDatabase } from '@stack/testing'
import { NO_SHEDDING } from '@stack/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migratedDatabase, testApp } from './helpers.js'

// Values that a JSON schema of "string", "uuid" or "integer" lets through but that PostgreSQL refuses
// (a 500 before) or that the driver would silently change (stored other than sent). Each goes through
// every field that carries it, against the real database: the answer is a 4xx problem+json and the
// table is exactly as it was.

let database: TestDatabase
let app: Awaited<ReturnType<typeof testApp>>
let client: pg.Client

beforeAll(async () => {
  database = await migratedDatabase()
  // Not a test of shedding: on a loaded machine a busy event loop must not turn answers into 503s.
  app = await testApp({ DATABASE_URL: database.url, ...NO_SHEDDING })
  client = new pg.Client({ connectionString: database.url })
  await client.connect()
})
afterAll(async () => {
  await client?.end()
  await app?.close()
  await database?.drop()
})

const PROBLEM = /^application\/problem\+json/
const A_UUID = '00000000-0000-4000-8000-000000000000'

/** Every row, as PostgreSQL holds it (text compared byte for byte via its hex). */
async function snapshot() {
  const { rows } = await client.query(
    `select id, encode(convert_to(title, 'UTF8'), 'hex') as title,
            encode(convert_to(body, 'UTF8'), 'hex') as body, updated_at from notes order by id`,
  )
  return rows
}

async function create(title: string, body = '') {
  const res = await app.inject({ method: 'POST', url: '/v1/notes', payload: { title, body } })
  expect(res.statusCode, res.body).toBe(201)
  return res.json() as { id: string; title: string; body: string }
}

function expectProblem(
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  what: string,
) {
  expect(res.statusCode, `${what}: ${res.body}`).toBeGreaterThanOrEqual(400)
  expect(res.statusCode, `${what}: ${res.body}`).toBeLessThan(500)
  expect(res.headers['content-type'], what).toMatch(PROBLEM)
}

// Strings PostgreSQL cannot hold (NUL) or that UTF-8 cannot encode (unpaired UTF-16 surrogates,
// which the driver would turn into U+FFFD).
const badText: [string, string][] = [
  ['a NUL', 'a\u0000b'],
  ['only a NUL', '\u0000'],
  ['a lone high surrogate', 'a\ud800b'],
  ['a lone low surrogate', 'a\udc00b'],
  ['a reversed pair', '\udc00\ud800'],
  ['a high surrogate at the end', `${'x'.repeat(10)}\udbff`],
]

describe('text fields refuse what PostgreSQL cannot store as sent', () => {
  it.each(badText)('%s in title or body: 4xx on POST and PATCH, nothing written', async (name, value) => {
    const note = await create('kept', 'kept body')
    const before = await snapshot()
    const attempts = [
      { method: 'POST' as const, url: '/v1/notes', payload: { title: value } },
      { method: 'POST' as const, url: '/v1/notes', payload: { title: 't', body: value } },
      { method: 'PATCH' as const, url: `/v1/notes/${note.id}`, payload: { title: value } },
      { method: 'PATCH' as const, url: `/v1/notes/${note.id}`, payload: { body: value } },
    ]
    for (const attempt of attempts) {
      const res = await app.inject(attempt)
      expectProblem(res, `${name}: ${attempt.method} ${JSON.stringify(Object.keys(attempt.payload))}`)
      expect(res.json().status).toBe(res.statusCode)
    }
    expect(await snapshot()).toEqual(before)
  })

  it('bytes that are not UTF-8 in a JSON body: 400, not stored as U+FFFD', async () => {
    const note = await create('kept')
    const before = await snapshot()
    const bodies = [
      Buffer.concat([Buffer.from('{"title":"a'), Buffer.from([0xff]), Buffer.from('b"}')]),
      Buffer.concat([Buffer.from('{"title":"a'), Buffer.from([0xc3]), Buffer.from('"}')]),
      // CESU-style encoded surrogate: ill-formed UTF-8.
      Buffer.concat([Buffer.from('{"title":"a'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
    ]
    for (const payload of bodies) {
      for (const [method, url] of [
        ['POST', '/v1/notes'],
        ['PATCH', `/v1/notes/${note.id}`],
      ] as const) {
        const res = await app.inject({
          method,
          url,
          payload,
          headers: { 'content-type': 'application/json' },
        })
        expectProblem(res, `${method} ${payload.toString('hex')}`)
      }
    }
    expect(await snapshot()).toEqual(before)
  })

  it('the API and the CHECK constraint count characters the same way (code points)', async () => {
    const emoji = '\u{1F600}'
    const title = emoji.repeat(200)
    const body = `${'e\u0301'.repeat(2500)}${emoji.repeat(5000)}`
    const note = await create(title, body)
    expect(note.title).toBe(title)
    expect(note.body).toBe(body)
    const read = await app.inject({ method: 'GET', url: `/v1/notes/${note.id}` })
    expect(read.json()).toMatchObject({ title, body })
    const { rows } = await client.query(
      'select char_length(title) as t, char_length(body) as b from notes where id = $1',
      [note.id],
    )
    expect(rows[0]).toEqual({ t: 200, b: 10_000 })

    const before = await snapshot()
    for (const payload of [{ title: emoji.repeat(201) }, { title: 't', body: `${body}${emoji}` }]) {
      const res = await app.inject({ method: 'POST', url: '/v1/notes', payload })
      expectProblem(res, JSON.stringify(Object.keys(payload)))
      expect(res.statusCode).toBe(400)
    }
    expect(await snapshot()).toEqual(before)
  })
})

describe('the id parameter accepts only what PostgreSQL parses as a uuid', () => {
  it.each([
    ['a urn:uuid: prefix', `urn:uuid:${A_UUID}`],
    ['a URN in capitals', `URN:UUID:${A_UUID}`],
    ['a NUL after the uuid', `${A_UUID}\u0000`],
    ['braces', `{${A_UUID}}`],
    ['no hyphens', A_UUID.replaceAll('-', '')],
  ])('%s: 4xx on GET, PATCH and DELETE', async (name, id) => {
    const note = await create('kept')
    const before = await snapshot()
    const url = `/v1/notes/${encodeURIComponent(id)}`
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const res = await app.inject({
        method,
        url,
        ...(method === 'PATCH' ? { payload: { title: 'x' } } : {}),
      })
      expectProblem(res, `${name}: ${method}`)
    }
    expect(await snapshot()).toEqual(before)
    expect((await app.inject({ method: 'GET', url: `/v1/notes/${note.id.toUpperCase()}` })).statusCode).toBe(
      200,
    )
  })
})

describe('the list query', () => {
  it.each([
    '1e2',
    '1e400',
    '99999999999999999999',
    '9007199254740993',
    '-0',
    '0.5',
    '100.5',
    '0x10',
    ' 5',
    'Infinity',
    'NaN',
    '%00',
    '1&limit=2',
  ])('limit=%s: 200 or a 4xx problem+json', async (limit) => {
    const res = await app.inject({ method: 'GET', url: `/v1/notes?limit=${limit}` })
    if (res.statusCode !== 200) expectProblem(res, `limit=${limit}`)
    else expect(res.json().items.length).toBeLessThanOrEqual(100)
  })

  const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  it.each([
    ['year 0', cursorOf(['0000-01-01T00:00:00.000Z', A_UUID])],
    ['year 1', cursorOf(['0001-01-01T00:00:00.000Z', A_UUID])],
    ['year 9999', cursorOf(['9999-12-31T23:59:59.999Z', A_UUID])],
    ['a urn id', cursorOf(['2020-01-01T00:00:00.000Z', `urn:uuid:${A_UUID}`])],
    ['a NUL id', cursorOf(['2020-01-01T00:00:00.000Z', `${A_UUID}\u0000`])],
    ['a lone surrogate', cursorOf(['2020-01-01T00:00:00.000Z\ud800', A_UUID])],
    ['percent-encoded NUL', `${cursorOf(['2020-01-01T00:00:00.000Z', A_UUID])}%00`],
    ['invalid UTF-8', `${cursorOf(['2020-01-01T00:00:00.000Z', A_UUID])}%FF`],
  ])('cursor with %s: 200 or a 4xx problem+json', async (_name, cursor) => {
    const res = await app.inject({ method: 'GET', url: `/v1/notes?cursor=${cursor}` })
    if (res.statusCode !== 200) expectProblem(res, cursor)
  })
})
