import type { TestDatabase } from '@stack/testing'
import createClient from 'openapi-fetch'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { components, paths } from './generated/openapi.js'
import { migratedDatabase, testApp } from './helpers.js'

// A client generated from GET /openapi.json (test/generated, kept current by openapi.test.ts) drives
// the notes routes of a real listening server. Typecheck proves the types fit the calls below.
type Note = components['schemas']['Note']
type Problem = components['schemas']['Problem']

let database: TestDatabase
let app: Awaited<ReturnType<typeof testApp>>
let client: ReturnType<typeof createClient<paths>>

beforeAll(async () => {
  database = await migratedDatabase()
  // Load shedding off (0 disables each check; pressure.test.ts covers it): this test is about the
  // contract, and a loaded machine's event loop must not turn its requests into 503s.
  app = await testApp({
    DATABASE_URL: database.url,
    PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0',
    PRESSURE_MAX_EVENT_LOOP_UTILIZATION: '0',
  })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  client = createClient<paths>({ baseUrl: address })
})
afterAll(async () => {
  await app?.close()
  await database?.drop()
})

describe('a client generated from the OpenAPI document', () => {
  it('creates, lists, reads, updates and deletes a note', async () => {
    const created = await client.POST('/v1/notes', { body: { title: 'typed', body: 'from a client' } })
    expect(created.response.status, JSON.stringify(created.error)).toBe(201)
    const note: Note | undefined = created.data
    expect(note).toMatchObject({ title: 'typed', body: 'from a client' })
    if (!note) throw new Error('no note')
    expect(created.response.headers.get('location')).toBe(`/v1/notes/${note.id}`)

    const page = await client.GET('/v1/notes', { params: { query: { limit: 10 } } })
    expect(page.response.status).toBe(200)
    expect(page.data?.items.map((n) => n.id)).toContain(note.id)
    expect(page.data?.nextCursor).toBeNull()

    const read = await client.GET('/v1/notes/{id}', { params: { path: { id: note.id } } })
    expect(read.data).toEqual(note)

    const updated = await client.PATCH('/v1/notes/{id}', {
      params: { path: { id: note.id } },
      body: { title: 'retitled' },
    })
    expect(updated.response.status).toBe(200)
    expect(updated.data).toMatchObject({ id: note.id, title: 'retitled', body: 'from a client' })

    const deleted = await client.DELETE('/v1/notes/{id}', { params: { path: { id: note.id } } })
    expect(deleted.response.status).toBe(204)
    expect(deleted.error).toBeUndefined()

    const gone = await client.GET('/v1/notes/{id}', { params: { path: { id: note.id } } })
    expect(gone.response.status).toBe(404)
    expect(gone.data).toBeUndefined()
    const problem: Problem | undefined = gone.error
    expect(problem).toMatchObject({
      status: 404,
      code: 'API_NOTE_NOT_FOUND',
      instance: `/v1/notes/${note.id}`,
    })
  })

  it('gets the documented problem+json for a request the schemas reject', async () => {
    const bad = await client.POST('/v1/notes', { body: { title: '' } })
    expect(bad.response.status, JSON.stringify(bad.error)).toBe(400)
    expect(bad.response.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    const problem: Problem | undefined = bad.error
    expect(problem).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' })
    expect(problem?.errors).toContainEqual({ field: 'body/title', message: expect.any(String) })

    const notUuid = await client.GET('/v1/notes/{id}', { params: { path: { id: 'not-a-uuid' } } })
    expect(notUuid.response.status).toBe(400)
    expect(notUuid.error?.code).toBe('VALIDATION_FAILED')
  })
})
