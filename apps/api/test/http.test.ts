import type { TestDatabase } from '@stack/testing'
import { createTestDatabase } from '@stack/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.js'
import { migratedDatabase, testApp, testConfig } from './helpers.js'

let database: TestDatabase
let app: Awaited<ReturnType<typeof testApp>>

beforeAll(async () => {
  database = await migratedDatabase()
  app = await testApp({ DATABASE_URL: database.url, BODY_LIMIT_BYTES: '2048' })
})
afterAll(async () => {
  await app?.close()
  await database?.drop()
})

const PROBLEM = /^application\/problem\+json/

describe('health', () => {
  it('liveness is 200 {"status":"ok"}', async () => {
    const res = await app.inject({ method: 'GET', url: '/health/live' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ok' })
  })

  it('readiness is 200 with each check when the database answers and the schema is current', async () => {
    const res = await app.inject({ method: 'GET', url: '/health/ready' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.json()).toMatchObject({
      status: 'ready',
      checks: { shutdown: { status: 'ok' }, database: { status: 'ok' }, migrations: { status: 'ok' } },
    })
  })

  it('readiness is 503 naming the migrations check on an unmigrated database', async () => {
    const empty = await createTestDatabase()
    const other = await testApp({ DATABASE_URL: empty.url })
    try {
      const res = await other.inject({ method: 'GET', url: '/health/ready' })
      expect(res.statusCode).toBe(503)
      expect(res.json()).toMatchObject({
        status: 'unavailable',
        checks: {
          database: { status: 'ok' },
          migrations: { status: 'fail', error: 'migrations pending' },
        },
      })
    } finally {
      await other.close()
      await empty.drop()
    }
  })

  it('readiness turns 503 at once when shutdown begins, while liveness stays 200', async () => {
    const other = await testApp({ DATABASE_URL: database.url })
    try {
      other.lifecycle.beginShutdown()
      const ready = await other.inject({ method: 'GET', url: '/health/ready' })
      expect(ready.statusCode).toBe(503)
      expect(ready.json().checks).toEqual({
        shutdown: { status: 'fail', durationMs: 0, error: 'shutting down' },
      })
      expect(ready.headers.connection).toBe('close')
      expect((await other.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200)
    } finally {
      await other.close()
    }
  })
})

describe('errors are problem+json', () => {
  it('malformed JSON is 400', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/notes',
      headers: { 'content-type': 'application/json' },
      payload: '{"title": ',
    })
    expect(res.statusCode).toBe(400)
    expect(res.headers['content-type']).toMatch(PROBLEM)
    expect(res.json()).toMatchObject({ status: 400, title: 'Bad Request', type: 'about:blank' })
  })

  it('an unsupported media type is 415', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/notes',
      headers: { 'content-type': 'text/xml' },
      payload: '<note/>',
    })
    expect(res.statusCode).toBe(415)
    expect(res.headers['content-type']).toMatch(PROBLEM)
    expect(res.json()).toMatchObject({ status: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' })
  })

  it('a body over BODY_LIMIT_BYTES is 413', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/notes',
      payload: { title: 't', body: 'x'.repeat(3000) },
    })
    expect(res.statusCode).toBe(413)
    expect(res.headers['content-type']).toMatch(PROBLEM)
    expect(res.json()).toMatchObject({ status: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' })
  })

  it('an unknown route is 404', async () => {
    const res = await app.inject({ method: 'GET', url: '/v2/nothing?x=1' })
    expect(res.statusCode).toBe(404)
    expect(res.headers['content-type']).toMatch(PROBLEM)
    expect(res.json()).toMatchObject({
      status: 404,
      code: 'SVC_NOT_FOUND',
      detail: 'Route GET /v2/nothing not found',
    })
  })

  it('a 5xx tells the client nothing internal', async () => {
    const other = await buildApp(testConfig({ DATABASE_URL: database.url }))
    other.get('/boom', async () => {
      throw new Error('secret internals at /srv/app.js:42')
    })
    try {
      const res = await other.inject({ method: 'GET', url: '/boom' })
      expect(res.statusCode).toBe(500)
      expect(res.headers['content-type']).toMatch(PROBLEM)
      expect(res.body).not.toContain('secret')
      expect(res.json()).toMatchObject({
        status: 500,
        code: 'INTERNAL',
        requestId: res.headers['x-request-id'],
      })
    } finally {
      await other.close()
    }
  })
})

describe('request ids, headers, CORS and OpenAPI', () => {
  it('keeps a valid X-Request-Id, replaces an invalid one, and echoes it', async () => {
    const kept = await app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'abc-123.X:y' },
    })
    expect(kept.headers['x-request-id']).toBe('abc-123.X:y')
    const replaced = await app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'bad id\nwith "quotes"' },
    })
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    const problem = await app.inject({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'trace-1' } })
    expect(problem.json().requestId).toBe('trace-1')
  })

  it('sends security headers for a JSON API and no CORS headers by default', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { origin: 'https://evil.example' },
    })
    expect(res.headers['content-security-policy']).toBe("default-src 'none';frame-ancestors 'none'")
    expect(res.headers['x-content-type-options']).toBe('nosniff')
    expect(res.headers['x-frame-options']).toBe('DENY')
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('sends the same security headers on a 200, a 404 problem and a 415 problem', async () => {
    const answers = [
      await app.inject({ method: 'GET', url: '/health/live' }),
      await app.inject({ method: 'GET', url: '/nope' }),
      await app.inject({
        method: 'POST',
        url: '/v1/notes',
        payload: '<note/>',
        headers: { 'content-type': 'text/xml' },
      }),
    ]
    expect(answers.map((r) => r.statusCode)).toEqual([200, 404, 415])
    for (const res of answers) {
      expect(res.headers).toMatchObject({
        'content-security-policy': "default-src 'none';frame-ancestors 'none'",
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-resource-policy': 'same-origin',
        'origin-agent-cluster': '?1',
        'referrer-policy': 'no-referrer',
        'x-content-type-options': 'nosniff',
        'x-dns-prefetch-control': 'off',
        'x-download-options': 'noopen',
        'x-frame-options': 'DENY',
        'x-permitted-cross-domain-policies': 'none',
        'x-xss-protection': '0',
      })
      expect(res.headers['strict-transport-security']).toBeUndefined()
      expect(res.headers['x-powered-by']).toBeUndefined()
    }
  })

  it('answers CORS only for allow-listed origins', async () => {
    const other = await testApp({
      DATABASE_URL: database.url,
      CORS_ORIGINS: 'https://app.example, https://admin.example',
    })
    try {
      const allowed = await other.inject({
        method: 'OPTIONS',
        url: '/v1/notes',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
      })
      expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example')
      const denied = await other.inject({
        method: 'GET',
        url: '/health/live',
        headers: { origin: 'https://evil.example' },
      })
      expect(denied.headers['access-control-allow-origin']).toBeUndefined()
    } finally {
      await other.close()
    }
  })

  it('serves an OpenAPI 3.1 document describing every route with its schemas', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' })
    expect(res.statusCode).toBe(200)
    const doc = res.json()
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/health/live',
      '/health/ready',
      '/v1/notes',
      '/v1/notes/{id}',
    ])
    expect(Object.keys(doc.paths['/v1/notes/{id}']).sort()).toEqual(['delete', 'get', 'patch'])
    expect(doc.components.schemas.CreateNote.properties.title).toMatchObject({ minLength: 1, maxLength: 200 })
    expect(doc.paths['/v1/notes/{id}'].get.responses['404']).toBeDefined()
  })

  it('the collection has one URL: /v1/notes/ is a 4xx problem, not a second name for it', async () => {
    const post = await app.inject({ method: 'POST', url: '/v1/notes/', payload: { title: 'x' } })
    expect(post.statusCode).toBe(404)
    expect(post.headers['content-type']).toMatch(PROBLEM)
    // GET /v1/notes/ is /v1/notes/{id} with an empty id, which is not a UUID.
    const get = await app.inject({ method: 'GET', url: '/v1/notes/' })
    expect(get.statusCode).toBe(400)
    expect(get.json()).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ field: 'params/id' }] })
  })
})
