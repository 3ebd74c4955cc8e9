import type { TestDatabase } from '@stack/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migratedDatabase, testApp } from './helpers.js'

let database: TestDatabase
let app: Awaited<ReturnType<typeof testApp>>

beforeAll(async () => {
  database = await migratedDatabase()
  app = await testApp({ DATABASE_URL: database.url })
})
afterAll(async () => {
  await app?.close()
  await database?.drop()
})

async function create(title: string, body?: string) {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/notes',
    payload: body === undefined ? { title } : { title, body },
  })
  expect(res.statusCode, res.body).toBe(201)
  return res
}

const PROBLEM = /^application\/problem\+json/

describe('/v1/notes', () => {
  it('POST creates a note: 201, Location, the stored fields', async () => {
    const res = await create('first', 'hello')
    const note = res.json()
    expect(note).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      title: 'first',
      body: 'hello',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: note.createdAt,
    })
    expect(res.headers.location).toBe(`/v1/notes/${note.id}`)
    const read = await app.inject({ method: 'GET', url: res.headers.location as string })
    expect(read.statusCode).toBe(200)
    expect(read.json()).toEqual(note)
  })

  it('POST without a body field stores an empty body', async () => {
    expect((await create('no body')).json().body).toBe('')
  })

  it.each([
    ['an empty title', { title: '' }, 'body/title'],
    ['a missing title', { body: 'x' }, 'body/title'],
    ['a title over 200 characters', { title: 'x'.repeat(201) }, 'body/title'],
    ['a body over 10000 characters', { title: 't', body: 'x'.repeat(10_001) }, 'body/body'],
    ['a title that is not a string', { title: 42 }, 'body/title'],
  ])('POST with %s is 400 problem+json naming the field', async (_name, payload, field) => {
    const res = await app.inject({ method: 'POST', url: '/v1/notes', payload })
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toMatch(PROBLEM)
    const problem = res.json()
    expect(problem).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      title: 'Bad Request',
      instance: '/v1/notes',
    })
    expect(problem.errors.map((e: { field: string }) => e.field)).toContain(field)
  })

  it('POST reports the first invalid field (Ajv stops there: see validation-errors.test.ts)', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/notes',
      payload: { title: '', body: 'x'.repeat(10_001) },
    })
    expect(res.statusCode).toBe(400)
    const fields = res.json().errors.map((e: { field: string }) => e.field)
    expect(fields).toHaveLength(1)
    expect(['body/body', 'body/title']).toContain(fields[0])
  })

  it('GET lists newest first with keyset pagination over every note exactly once', async () => {
    const titles = Array.from({ length: 7 }, (_, i) => `page-${i}`)
    for (const t of titles) await create(t)
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const url: string = `/v1/notes?limit=3${cursor ? `&cursor=${cursor}` : ''}`
      const res = await app.inject({ method: 'GET', url })
      expect(res.statusCode).toBe(200)
      const page = res.json()
      expect(page.items.length).toBeLessThanOrEqual(3)
      seen.push(...page.items.map((n: { title: string }) => n.title))
      cursor = page.nextCursor
      pages++
    } while (cursor && pages < 20)
    const all = (await app.inject({ method: 'GET', url: '/v1/notes?limit=100' })).json().items
    expect(seen).toEqual(all.map((n: { title: string }) => n.title))
    expect(new Set(seen).size).toBe(seen.length)
    expect(seen.slice(0, 7)).toEqual([...titles].reverse())
    const created = all.map((n: { createdAt: string }) => n.createdAt)
    expect(created).toEqual([...created].sort().reverse())
  })

  it('GET uses limit 20 by default and rejects limits outside 1..100 and bad cursors', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/notes' })).statusCode).toBe(200)
    for (const q of ['limit=0', 'limit=101', 'limit=abc', 'cursor=not-a-cursor', 'cursor=']) {
      const res = await app.inject({ method: 'GET', url: `/v1/notes?${q}` })
      expect(res.statusCode, q).toBe(400)
      expect(res.headers['content-type']).toMatch(PROBLEM)
    }
    for (const t of ['0', '2020-02-30T00:00:00.000Z', '+010000-01-01T00:00:00.000Z']) {
      const odd = Buffer.from(JSON.stringify([t, '00000000-0000-4000-8000-000000000000'])).toString(
        'base64url',
      )
      expect((await app.inject({ method: 'GET', url: `/v1/notes?cursor=${odd}` })).statusCode, t).toBe(400)
    }
    const badPath = await app.inject({ method: 'GET', url: '/v1/notes/%zz' })
    expect(badPath.statusCode).toBe(400)
    expect(badPath.headers['content-type']).toMatch(PROBLEM)
    const forged = Buffer.from(JSON.stringify(['yesterday', 'nope'])).toString('base64url')
    const res = await app.inject({ method: 'GET', url: `/v1/notes?cursor=${forged}` })
    expect(res.json()).toMatchObject({ status: 400, code: 'API_INVALID_CURSOR' })
  })

  it('GET /:id: 404 for an unknown id, 400 (not 500) for a malformed one', async () => {
    const missing = await app.inject({ method: 'GET', url: '/v1/notes/00000000-0000-4000-8000-000000000000' })
    expect(missing.statusCode).toBe(404)
    expect(missing.headers['content-type']).toMatch(PROBLEM)
    expect(missing.json()).toMatchObject({ code: 'API_NOTE_NOT_FOUND', status: 404 })
    for (const id of ['123', 'not-a-uuid', "1' or '1'='1"]) {
      const res = await app.inject({ method: 'GET', url: `/v1/notes/${encodeURIComponent(id)}` })
      expect(res.statusCode, id).toBe(400)
      expect(res.json().errors[0].field).toBe('params/id')
    }
  })

  it('PATCH changes fields and updatedAt; 400 for an empty or invalid change; 404 for an unknown id', async () => {
    const note = (await create('before', 'body')).json()
    await new Promise((r) => setTimeout(r, 5))
    const res = await app.inject({
      method: 'PATCH',
      url: `/v1/notes/${note.id}`,
      payload: { title: 'after' },
    })
    expect(res.statusCode).toBe(200)
    const changed = res.json()
    expect(changed).toMatchObject({ id: note.id, title: 'after', body: 'body', createdAt: note.createdAt })
    expect(Date.parse(changed.updatedAt)).toBeGreaterThan(Date.parse(note.updatedAt))

    for (const payload of [{}, { title: '' }, { colour: 'red' }]) {
      const bad = await app.inject({ method: 'PATCH', url: `/v1/notes/${note.id}`, payload })
      expect(bad.statusCode, JSON.stringify(payload)).toBe(400)
    }
    const unknown = await app.inject({
      method: 'PATCH',
      url: '/v1/notes/00000000-0000-4000-8000-000000000000',
      payload: { title: 'x' },
    })
    expect(unknown.statusCode).toBe(404)
    expect((await app.inject({ method: 'GET', url: `/v1/notes/${note.id}` })).json().title).toBe('after')
  })

  it('DELETE is 204 and then 404', async () => {
    const note = (await create('doomed')).json()
    const res = await app.inject({ method: 'DELETE', url: `/v1/notes/${note.id}` })
    expect(res.statusCode).toBe(204)
    expect(res.body).toBe('')
    expect((await app.inject({ method: 'DELETE', url: `/v1/notes/${note.id}` })).statusCode).toBe(404)
    expect((await app.inject({ method: 'GET', url: `/v1/notes/${note.id}` })).statusCode).toBe(404)
  })
})
