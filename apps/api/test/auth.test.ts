import {
  type ServerProcess,
  startTestIssuer,
  type TestDatabase,
  type TestIssuer,
  unsignedToken,
  waitForStatus,
} from '@stack/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migratedDatabase } from './helpers.js'
import { request, startServer } from './process.js'

// The built server (node dist/server.js) with AUTH_ISSUER pointing at a real issuer on loopback
// (startTestIssuer: discovery document + JWKS, keys from jose's generateKeyPair), and a real
// PostgreSQL: every refused token leaves the notes table as it was.

const AUDIENCE = 'notes-api'
// One key fetch per second at most: short enough to wait out here, long enough to bound a burst.
const MIN_INTERVAL_MS = 1000
let database: TestDatabase
let issuer: TestIssuer
let server: ServerProcess
let db: pg.Client

beforeAll(async () => {
  database = await migratedDatabase()
  issuer = await startTestIssuer({ audience: AUDIENCE })
  server = await startServer({
    DATABASE_URL: database.url,
    LOG_LEVEL: 'info',
    LOG_BUFFER_BYTES: '0',
    SHUTDOWN_DELAY_MS: '0',
    AUTH_ISSUER: issuer.issuer,
    AUTH_AUDIENCE: AUDIENCE,
    AUTH_KEYS_MIN_INTERVAL_MS: String(MIN_INTERVAL_MS),
    AUTH_KEYS_TIMEOUT_MS: '1000',
  })
  await waitForStatus(`${server.url}/health/ready`, 200)
  db = new pg.Client({ connectionString: database.url })
  await db.connect()
}, 120_000)
afterAll(async () => {
  await server?.stop()
  await db?.end()
  await issuer?.close()
  await database?.drop()
})

async function noteCount(): Promise<number> {
  const { rows } = await db.query<{ n: number }>('select count(*)::int as n from notes')
  return rows[0]?.n ?? -1
}

function call(method: string, path: string, token?: string, body?: unknown) {
  return request(`${server.url}${path}`, {
    method,
    ...(body === undefined ? {} : { body }),
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    timeoutMs: 15_000,
  })
}

const write = (claims: Record<string, unknown> = {}) =>
  issuer.sign({ scope: 'notes:read notes:write', ...claims })

describe('the API with AUTH_ISSUER set', () => {
  it('refuses every bad token with 401 problem+json, and writes nothing', async () => {
    const cases: [string, string | undefined][] = [
      ['no token', undefined],
      ['malformed', 'eyJhbGciOi.not-a-token'],
      ['expired', await issuer.sign({ scope: 'notes:write' }, { expiresIn: -3600 })],
      ['another audience', await write({ aud: 'billing-api' })],
      ['another issuer', await write({ iss: 'https://issuer.example.com' })],
      [
        'alg none',
        unsignedToken(
          { alg: 'none' },
          { sub: 'x', scope: 'notes:write', iss: issuer.issuer, aud: AUDIENCE, exp: 4e9 },
        ),
      ],
      ['HS256 with the public key', await issuer.forgeWithPublicKey({ scope: 'notes:write' })],
      ['unknown kid', await issuer.sign({ scope: 'notes:write' }, { kid: 'no-such-key' })],
    ]
    for (const [name, token] of cases) {
      const res = await call('POST', '/v1/notes', token, { title: name, body: 'x' })
      expect(res.status, `${name}: ${res.body}`).toBe(401)
      expect(res.headers['content-type'], name).toContain('application/problem+json')
      expect(res.headers['www-authenticate'], name).toMatch(
        token === undefined ? /^Bearer$/ : /^Bearer error="invalid_token"/,
      )
      expect(JSON.parse(res.body), name).toMatchObject({ status: 401, code: expect.stringMatching(/^AUTH_/) })
    }
    expect(await noteCount()).toBe(0)
    const output = server.output()
    for (const [, token] of cases) if (token) expect(output).not.toContain(token)
  })

  it('lets a valid token create and read, logs its subject and never the token', async () => {
    const token = await write({ sub: 'alice' })
    const created = await call('POST', '/v1/notes', token, { title: 'mine', body: 'hello' })
    expect(created.status, created.body).toBe(201)
    const { id } = JSON.parse(created.body)
    const reader = await issuer.sign({ sub: 'alice', scope: 'notes:read' })
    expect((await call('GET', `/v1/notes/${id}`, reader)).status).toBe(200)
    const list = await call('GET', '/v1/notes', reader)
    expect(list.status).toBe(200)
    expect(JSON.parse(list.body).items.map((n: { id: string }) => n.id)).toContain(id)
    const line = await server.waitForLine(
      (l) => l.msg === 'request completed' && l.method === 'POST' && l.status === 201,
    )
    expect(line.sub).toBe('alice')
    expect(server.output()).not.toContain(token)
    expect(server.output()).not.toContain(token.split('.')[2])
  })

  it('answers 403 insufficient_scope to a reader that writes, and writes nothing', async () => {
    const before = await noteCount()
    const [note] = (await db.query<{ id: string }>('select id from notes limit 1')).rows
    const reader = await issuer.sign({ scope: 'notes:read' })
    for (const [method, path, body] of [
      ['POST', '/v1/notes', { title: 't', body: 'b' }],
      ['PATCH', `/v1/notes/${note?.id}`, { title: 'changed' }],
      ['DELETE', `/v1/notes/${note?.id}`, undefined],
    ] as const) {
      const res = await call(method, path, reader, body)
      expect(res.status, `${method}: ${res.body}`).toBe(403)
      expect(res.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="notes:write"')
    }
    expect(await noteCount()).toBe(before)
    const { rows } = await db.query('select title from notes where id = $1', [note?.id])
    expect(rows[0]?.title).toBe('mine')
    // And a token without notes:read does not read.
    expect((await call('GET', '/v1/notes', await issuer.sign({ scope: 'notes:write' }))).status).toBe(403)
  })

  it('keeps the probes and the OpenAPI document public', async () => {
    expect((await call('GET', '/health/live')).status).toBe(200)
    expect((await call('GET', '/health/ready')).status).toBe(200)
    const doc = await call('GET', '/openapi.json')
    expect(doc.status).toBe(200)
    expect(JSON.parse(doc.body).paths['/v1/notes'].post.security).toEqual([{ bearerAuth: ['notes:write'] }])
  })

  it('a burst of tokens with random kids makes a bounded number of key fetches', async () => {
    const tokens = await Promise.all(
      Array.from({ length: 100 }, () => issuer.sign({ scope: 'notes:read' }, { kid: crypto.randomUUID() })),
    )
    // Past the interval since the last fetch, so that the burst's first unknown kid is worth one.
    await new Promise((r) => setTimeout(r, MIN_INTERVAL_MS + 100))
    const before = issuer.fetches().jwks
    const started = performance.now()
    const answers = await Promise.all(tokens.map((t) => call('GET', '/v1/notes?limit=1', t)))
    const elapsed = performance.now() - started
    expect(answers.map((a) => a.status)).toEqual(tokens.map(() => 401))
    const fetched = issuer.fetches().jwks - before
    console.info(`100 tokens with random kids in ${Math.round(elapsed)} ms: ${fetched} key fetches`)
    // At most one per AUTH_KEYS_MIN_INTERVAL_MS, whatever the machine's speed made the burst last.
    expect(fetched).toBeLessThanOrEqual(1 + Math.ceil(elapsed / MIN_INTERVAL_MS))
    expect(fetched).toBeGreaterThanOrEqual(1)
    expect(fetched).toBeLessThan(10)
  })

  it('with the key endpoint down: cached keys keep working, a token for a new key gets 503 promptly', async () => {
    const cached = await issuer.sign({ scope: 'notes:read' })
    expect((await call('GET', '/v1/notes?limit=1', cached)).status).toBe(200)
    issuer.setMode('failing')
    try {
      await issuer.addKey()
      const rotated = await issuer.sign({ scope: 'notes:read' })
      // Past the minimum interval, the unknown kid is worth a fetch, which fails: 503, not 401 or 500.
      await new Promise((r) => setTimeout(r, MIN_INTERVAL_MS + 100))
      const res = await call('GET', '/v1/notes?limit=1', rotated)
      expect(res.status, res.body).toBe(503)
      expect(JSON.parse(res.body)).toMatchObject({ code: 'AUTH_KEYS_UNAVAILABLE' })
      expect(res.headers['retry-after']).toBeDefined()
      expect((await call('GET', '/v1/notes?limit=1', cached)).status).toBe(200)
      expect(server.lines().some((l) => l.msg === 'cannot fetch signing keys')).toBe(true)
      // And back up: the new key is fetched once the interval allows, and the token works.
      issuer.setMode('up')
      await waitForStatus(`${server.url}/v1/notes?limit=1`, 200, {
        headers: { authorization: `Bearer ${rotated}` },
        timeoutMs: 30_000,
      })
    } finally {
      issuer.setMode('up')
    }
  })
})
