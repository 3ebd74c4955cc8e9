import {
  type ServerProcess,
  startTestIssuer,
  type TestDatabase,
  type TestIssuer,
  waitForStatus,
} from '@stack/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migratedDatabase, testApp } from './helpers.js'
import { request, startServer } from './process.js'

// A note belongs to the subject that created it. With auth on (the built server, a real issuer on
// loopback, real signed tokens), every caller sees only its own notes, and another's is a 404 like a
// missing one. With auth off, the service is one anonymous owner: notes with owner NULL.

const AUDIENCE = 'notes-api'
const MISSING = '00000000-0000-4000-8000-000000000000'
let database: TestDatabase
let db: pg.Client

beforeAll(async () => {
  database = await migratedDatabase()
  db = new pg.Client({ connectionString: database.url })
  await db.connect()
}, 120_000)
afterAll(async () => {
  await db?.end()
  await database?.drop()
})

interface Row {
  id: string
  owner: string | null
  title: string
  body: string
  updated_at: Date
}

async function row(id: string): Promise<Row | undefined> {
  const { rows } = await db.query<Row>('select id, owner, title, body, updated_at from notes where id = $1', [
    id,
  ])
  return rows[0]
}

/** A note written straight into the table, as an older release or another owner left it. */
async function insert(title: string, owner: string | null): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    'insert into notes (title, owner) values ($1, $2) returning id',
    [title, owner],
  )
  return rows[0]?.id as string
}

/** A 404's problem+json as it would read for MISSING, less its requestId (one per request). */
function asMissing(body: string, id = MISSING) {
  const { requestId, ...problem } = JSON.parse(body.replaceAll(id, MISSING))
  expect(requestId).toEqual(expect.any(String))
  return problem
}

describe('with AUTH_ISSUER set: each subject its own notes', () => {
  let issuer: TestIssuer
  let server: ServerProcess
  let alice: string
  let bob: string

  beforeAll(async () => {
    issuer = await startTestIssuer({ audience: AUDIENCE })
    server = await startServer({
      DATABASE_URL: database.url,
      SHUTDOWN_DELAY_MS: '0',
      AUTH_ISSUER: issuer.issuer,
      AUTH_AUDIENCE: AUDIENCE,
    })
    await waitForStatus(`${server.url}/health/ready`, 200)
    // Same scopes: what separates them is the subject alone.
    alice = await issuer.sign({ sub: 'alice', scope: 'notes:read notes:write' })
    bob = await issuer.sign({ sub: 'bob', scope: 'notes:read notes:write' })
  }, 120_000)
  afterAll(async () => {
    await server?.stop()
    await issuer?.close()
  })

  function call(method: string, path: string, token: string, body?: unknown) {
    return request(`${server.url}${path}`, {
      method,
      ...(body === undefined ? {} : { body }),
      headers: { authorization: `Bearer ${token}` },
      timeoutMs: 15_000,
    })
  }

  async function create(token: string, title: string): Promise<string> {
    const res = await call('POST', '/v1/notes', token, { title, body: `${title} body` })
    expect(res.status, res.body).toBe(201)
    const note = JSON.parse(res.body)
    expect(note).not.toHaveProperty('owner')
    return note.id
  }

  /** Every id the list shows `token`, page by page (limit 2, so the keyset cursor is used too). */
  async function listAll(token: string): Promise<string[]> {
    const ids: string[] = []
    let cursor: string | null = null
    do {
      const res = await call('GET', `/v1/notes?limit=2${cursor ? `&cursor=${cursor}` : ''}`, token)
      expect(res.status, res.body).toBe(200)
      const page: { items: { id: string }[]; nextCursor: string | null } = JSON.parse(res.body)
      ids.push(...page.items.map((n) => n.id))
      cursor = page.nextCursor
    } while (cursor)
    return ids
  }

  it('stores the subject as the owner; the client cannot set it', async () => {
    const id = await create(alice, 'stamped')
    expect((await row(id))?.owner).toBe('alice')
    for (const [method, path] of [
      ['POST', '/v1/notes'],
      ['PATCH', `/v1/notes/${id}`],
    ] as const) {
      const res = await call(method, path, bob, { title: 'mine now', owner: 'bob' })
      expect(res.status, `${method}: ${res.body}`).toBe(400)
    }
    expect((await row(id))?.owner).toBe('alice')
  })

  it("user B cannot list, read, update or delete user A's note: 404 as if missing, and it stays as it was", async () => {
    const aliceIds = [await create(alice, 'a1'), await create(alice, 'a2'), await create(alice, 'a3')]
    const bobIds = [await create(bob, 'b1'), await create(bob, 'b2'), await create(bob, 'b3')]
    const unowned = await insert('from before auth', null)
    const target = aliceIds[1] as string
    const before = await row(target)

    const bobSees = await listAll(bob)
    expect(bobSees.sort()).toEqual([...bobIds].sort())
    const aliceSees = await listAll(alice)
    expect(aliceSees).toEqual(expect.arrayContaining(aliceIds))
    for (const id of bobIds) expect(aliceSees).not.toContain(id)
    expect(aliceSees).not.toContain(unowned)

    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { title: 'taken over' }],
      ['DELETE', undefined],
    ] as const) {
      const theirs = await call(method, `/v1/notes/${target}`, bob, body)
      const missing = await call(method, `/v1/notes/${MISSING}`, bob, body)
      expect(theirs.status, `${method}: ${theirs.body}`).toBe(404)
      expect(theirs.headers['content-type'], method).toContain('application/problem+json')
      expect(asMissing(theirs.body, target), method).toEqual(asMissing(missing.body))
      // And the owner-NULL note, from before auth was on, is nobody's to touch now.
      expect((await call(method, `/v1/notes/${unowned}`, alice, body)).status, method).toBe(404)
    }
    expect(await row(target)).toEqual(before)
    expect((await row(unowned))?.title).toBe('from before auth')

    // A still can.
    const read = await call('GET', `/v1/notes/${target}`, alice)
    expect(read.status).toBe(200)
    expect(JSON.parse(read.body)).toMatchObject({ id: target, title: 'a2' })
    const changed = await call('PATCH', `/v1/notes/${target}`, alice, { title: 'a2 changed' })
    expect(changed.status, changed.body).toBe(200)
    expect((await row(target))?.title).toBe('a2 changed')
    expect((await call('DELETE', `/v1/notes/${target}`, alice)).status).toBe(204)
    expect(await row(target)).toBeUndefined()
    // B's notes were never A's to delete either.
    expect((await call('DELETE', `/v1/notes/${bobIds[0]}`, alice)).status).toBe(404)
    expect(await row(bobIds[0] as string)).toBeDefined()
  })
})

describe('with auth off: one anonymous owner, owner NULL', () => {
  let app: Awaited<ReturnType<typeof testApp>>
  beforeAll(async () => {
    app = await testApp({ DATABASE_URL: database.url })
  })
  afterAll(async () => {
    await app?.close()
  })

  it('writes owner NULL, sees the owner-NULL notes and no owned one', async () => {
    const created = await app.inject({ method: 'POST', url: '/v1/notes', payload: { title: 'anonymous' } })
    expect(created.statusCode, created.body).toBe(201)
    const id = created.json().id
    expect((await row(id))?.owner).toBeNull()
    const older = await insert('an older release wrote this', null)
    const owned = await insert("carol's", 'carol')

    const ids: string[] = []
    let cursor: string | null = null
    do {
      const url = `/v1/notes?limit=1${cursor ? `&cursor=${cursor}` : ''}`
      const res = await app.inject({ method: 'GET', url })
      expect(res.statusCode, res.body).toBe(200)
      const page: { items: { id: string }[]; nextCursor: string | null } = res.json()
      ids.push(...page.items.map((n) => n.id))
      cursor = page.nextCursor
    } while (cursor)
    const { rows } = await db.query<{ id: string }>('select id from notes where owner is null')
    expect(ids.sort()).toEqual(rows.map((r) => r.id).sort())
    expect(ids).toEqual(expect.arrayContaining([id, older]))
    expect(ids).not.toContain(owned)

    expect((await app.inject({ method: 'GET', url: `/v1/notes/${older}` })).statusCode).toBe(200)
    const before = await row(owned)
    for (const [method, payload] of [
      ['GET', undefined],
      ['PATCH', { title: 'anonymous takes it' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await app.inject({ method, url: `/v1/notes/${owned}`, ...(payload ? { payload } : {}) })
      expect(res.statusCode, method).toBe(404)
    }
    expect(await row(owned)).toEqual(before)
  })
})
