import { Writable } from 'node:stream'
import { authVars, type Env, loadConfig, pressureVars, serverVars } from '@stack/config'
import { startTestIssuer, type TestIssuer, unsignedToken } from '@stack/testing'
import pino from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createService, PROBLEM_TYPE, type Service } from '../src/index.js'

// The auth plugin through app.inject, against a real key endpoint on loopback (startTestIssuer):
// real signatures, real fetches, counted at the endpoint. apps/api/test/auth.test.ts runs the built
// server the same way.

const AUDIENCE = 'notes-api'
let issuer: TestIssuer
let app: Service | undefined
let handled = 0
let logged: string[] = []

beforeAll(async () => {
  issuer = await startTestIssuer({ audience: AUDIENCE })
})
afterAll(async () => {
  await issuer.close()
})
afterEach(async () => {
  await app?.close()
  app = undefined
  issuer.setMode('up')
})

/** A service with one protected route per need, and a log captured line by line. */
async function service(env: Env = {}, iss: TestIssuer = issuer): Promise<Service> {
  const config = loadConfig(
    { ...serverVars, ...pressureVars, ...authVars },
    { AUTH_ISSUER: iss.issuer, AUTH_AUDIENCE: AUDIENCE, LOG_LEVEL: 'info', ...env },
  )
  logged = []
  const sink = new Writable({
    write(chunk, _enc, done) {
      logged.push(String(chunk))
      done()
    },
  })
  app = await createService(config, { name: 'test', logger: pino({ level: 'info' }, sink) })
  app.get('/open', { config: { auth: false } }, async () => ({ ok: true }))
  app.get('/any', async (req) => ({ sub: req.caller?.subject ?? null }))
  app.post('/write', { config: { auth: { scopes: ['notes:write'] } } }, async () => {
    handled++
    return { written: true }
  })
  await app.ready()
  return app
}

function get(url: string, token?: string) {
  return (app as Service).inject({
    method: 'GET',
    url,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  })
}

function expectRefused(res: Awaited<ReturnType<typeof get>>, code: string, challenge: RegExp) {
  expect(res.statusCode, res.body).toBe(401)
  expect(res.headers['content-type']).toContain(PROBLEM_TYPE)
  expect(res.json()).toMatchObject({ status: 401, code })
  expect(res.headers['www-authenticate']).toMatch(challenge)
}

describe('bearer tokens', () => {
  it('let a valid token through and name its subject on the request line, never the token', async () => {
    await service()
    const token = await issuer.sign({ sub: 'alice' })
    const res = await get('/any', token)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({ sub: 'alice' })
    const line = logged
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'request completed' && l.url === '/any')
    // (inject's requests read as aborted to the lifecycle: the status is the real server's business, api/test/auth.test.ts.)
    expect(line).toMatchObject({ sub: 'alice' })
    const all = logged.join('\n')
    for (const part of token.split('.')) expect(all).not.toContain(part)
  })

  it('refuse a request without a token: 401, WWW-Authenticate: Bearer, problem+json', async () => {
    await service()
    expectRefused(await get('/any'), 'AUTH_MISSING_TOKEN', /^Bearer$/)
    // Another scheme is no bearer token either.
    const basic = await app?.inject({ method: 'GET', url: '/any', headers: { authorization: 'Basic YTpi' } })
    expectRefused(basic as never, 'AUTH_MISSING_TOKEN', /^Bearer$/)
  })

  it.each([
    ['malformed', async () => 'not.a.jwt', /malformed/],
    ['expired (past the clock tolerance)', () => issuer.sign({}, { expiresIn: -120 }), /expired/],
    ['not yet valid', () => issuer.sign({}, { notBefore: 600 }), /not valid yet/],
    ['for another audience', () => issuer.sign({ aud: 'another-api' }), /the aud claim/],
    ['from another issuer', () => issuer.sign({ iss: 'https://evil.example.com' }), /the iss claim/],
    ['without a subject', () => issuer.sign({ sub: undefined }), /the sub claim/],
    ['whose subject is not a string', () => issuer.sign({ sub: 42 as never }), /the sub claim/],
    [
      'alg none',
      async () =>
        unsignedToken({ alg: 'none', typ: 'JWT' }, { sub: 'x', iss: issuer.issuer, aud: AUDIENCE, exp: 2e9 }),
      /allowed algorithm/,
    ],
    ['HS256 signed with the public key', () => issuer.forgeWithPublicKey(), /allowed algorithm/],
    [
      'signed by a key the issuer does not publish',
      () => issuer.sign({}, { kid: 'made-up' }),
      /does not publish/,
    ],
  ])('refuse a token %s with 401 invalid_token, and run no handler', async (_name, make, reason) => {
    await service()
    const token = await make()
    const before = handled
    const res = await app?.inject({
      method: 'POST',
      url: '/write',
      headers: { authorization: `Bearer ${token}` },
    })
    expectRefused(res as never, 'AUTH_INVALID_TOKEN', /^Bearer error="invalid_token"/)
    expect(res?.json().detail).toMatch(reason)
    // The reason is a quoted-string in the header: no quote of its own may end it early.
    expect(res?.headers['www-authenticate']).toMatch(
      /^Bearer error="invalid_token", error_description="[^"]*"$/,
    )
    expect(handled).toBe(before)
    expect(logged.join('\n')).not.toContain(token)
  })

  it('accept a token a little past exp (within AUTH_CLOCK_TOLERANCE_S)', async () => {
    await service({ AUTH_CLOCK_TOLERANCE_S: '30' })
    expect((await get('/any', await issuer.sign({}, { expiresIn: -10 }))).statusCode).toBe(200)
  })

  it("answer 403 insufficient_scope without the route's scope, from `scope` or `scp`", async () => {
    await service()
    const post = async (claims: Record<string, unknown>) =>
      app?.inject({
        method: 'POST',
        url: '/write',
        headers: { authorization: `Bearer ${await issuer.sign(claims)}` },
      })
    const before = handled
    const denied = await post({ scope: 'notes:read' })
    expect(denied?.statusCode).toBe(403)
    expect(denied?.headers['content-type']).toContain(PROBLEM_TYPE)
    expect(denied?.json()).toMatchObject({ code: 'AUTH_INSUFFICIENT_SCOPE' })
    expect(denied?.headers['www-authenticate']).toBe('Bearer error="insufficient_scope", scope="notes:write"')
    expect(handled).toBe(before)
    expect((await post({ scope: 'notes:read notes:write' }))?.statusCode).toBe(200)
    expect((await post({ scp: ['notes:write'] }))?.statusCode).toBe(200)
    expect((await post({ scp: 'openid notes:write' }))?.statusCode).toBe(200)
    expect(handled).toBe(before + 3)
  })

  it('keep health, readiness, the OpenAPI document, public routes and unknown routes as they were', async () => {
    await service()
    expect((await get('/health/live')).statusCode).toBe(200)
    expect((await get('/health/ready')).statusCode).toBe(200)
    expect((await get('/openapi.json')).statusCode).toBe(200)
    expect((await get('/open')).statusCode).toBe(200)
    expect((await get('/nowhere')).statusCode).toBe(404)
  })

  it("declare the bearer scheme and each operation's needs in the OpenAPI document", async () => {
    await service()
    const doc = (await get('/openapi.json')).json()
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(doc.paths['/write'].post.security).toEqual([{ bearerAuth: ['notes:write'] }])
    expect(doc.paths['/any'].get.security).toEqual([{ bearerAuth: [] }])
    expect(doc.paths['/any'].get.responses).toHaveProperty('401')
    expect(doc.paths['/open'].get.security).toEqual([])
    expect(doc.paths['/health/live'].get.security).toEqual([])
  })
})

describe('the signing keys', () => {
  it('are found through the discovery document when AUTH_JWKS_URL is unset, and cached', async () => {
    const own = await startTestIssuer({ audience: AUDIENCE, alg: 'ES256' })
    try {
      await service({}, own)
      for (let i = 0; i < 5; i++) expect((await get('/any', await own.sign())).statusCode).toBe(200)
      expect(own.fetches()).toEqual({ discovery: 1, jwks: 1 })
    } finally {
      await own.close()
    }
  })

  it('are fetched again for a new kid (rotation), at most once per AUTH_KEYS_MIN_INTERVAL_MS', async () => {
    const own = await startTestIssuer({ audience: AUDIENCE })
    try {
      await service({ AUTH_JWKS_URL: own.jwksUrl, AUTH_KEYS_MIN_INTERVAL_MS: '0' }, own)
      expect((await get('/any', await own.sign())).statusCode).toBe(200)
      await own.addKey({ alg: 'EdDSA' })
      expect((await get('/any', await own.sign())).statusCode).toBe(200)
      expect(own.fetches()).toEqual({ discovery: 0, jwks: 2 })
    } finally {
      await own.close()
    }
  })

  it('a burst of tokens with random kids makes a bounded number of fetches', async () => {
    const own = await startTestIssuer({ audience: AUDIENCE })
    try {
      await service({ AUTH_JWKS_URL: own.jwksUrl, AUTH_KEYS_MIN_INTERVAL_MS: '60000' }, own)
      const tokens = await Promise.all(
        Array.from({ length: 200 }, () => own.sign({}, { kid: crypto.randomUUID() })),
      )
      const answers = await Promise.all(tokens.map((t) => get('/any', t)))
      expect(answers.map((a) => a.statusCode)).toEqual(tokens.map(() => 401))
      // One fetch for the whole burst: the first, which the others waited for or came after.
      expect(own.fetches().jwks).toBe(1)
      // A good token still works, from the cache.
      expect((await get('/any', await own.sign())).statusCode).toBe(200)
      expect(own.fetches().jwks).toBe(1)
    } finally {
      await own.close()
    }
  })

  it('when the endpoint fails: cached keys keep working, a token needing a new key gets 503', async () => {
    const own = await startTestIssuer({ audience: AUDIENCE })
    try {
      await service(
        { AUTH_JWKS_URL: own.jwksUrl, AUTH_KEYS_MIN_INTERVAL_MS: '0', AUTH_KEYS_MAX_AGE_MS: '1000' },
        own,
      )
      const old = await own.sign()
      expect((await get('/any', old)).statusCode).toBe(200)
      own.setMode('failing')
      await own.addKey()
      const fresh = await own.sign()
      const res = await get('/any', fresh)
      expect(res.statusCode, res.body).toBe(503)
      expect(res.headers['content-type']).toContain(PROBLEM_TYPE)
      expect(res.json()).toMatchObject({ code: 'AUTH_KEYS_UNAVAILABLE' })
      expect(res.headers['retry-after']).toBeDefined()
      // Past AUTH_KEYS_MAX_AGE_MS the keys are stale; the refresh fails and they are kept.
      await new Promise((r) => setTimeout(r, 1100))
      expect((await get('/any', old)).statusCode).toBe(200)
      expect(logged.some((l) => l.includes('cannot fetch signing keys'))).toBe(true)
      // Once the endpoint is back, the new key is fetched for a token that needs it. A background
      // refresh that started while it was failing may still be in flight: a token that waits for
      // that one gets 503 (never anything else), and the next fetch brings the key.
      own.setMode('up')
      const statuses: number[] = []
      for (let i = 0; i < 50 && statuses.at(-1) !== 200; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 100))
        statuses.push((await get('/any', fresh)).statusCode)
      }
      expect(statuses.at(-1)).toBe(200)
      expect(statuses.slice(0, -1).every((s) => s === 503)).toBe(true)
    } finally {
      await own.close()
    }
  })

  it('when the endpoint hangs: 503 after AUTH_KEYS_TIMEOUT_MS, not a hung request', async () => {
    const own = await startTestIssuer({ audience: AUDIENCE })
    try {
      await service({ AUTH_JWKS_URL: own.jwksUrl, AUTH_KEYS_TIMEOUT_MS: '300' }, own)
      own.setMode('hanging')
      const res = await get('/any', await own.sign())
      expect(res.statusCode, res.body).toBe(503)
      expect(res.json()).toMatchObject({ code: 'AUTH_KEYS_UNAVAILABLE' })
      expect(logged.some((l) => l.includes('did not answer within 300 ms'))).toBe(true)
    } finally {
      await own.close()
    }
  })

  it('when the endpoint hangs, a token with a cached key is not held up by the refresh of stale keys', async () => {
    const own = await startTestIssuer({ audience: AUDIENCE })
    try {
      // A refresh that waited for its timeout would take a minute: past the deadline below.
      await service(
        {
          AUTH_JWKS_URL: own.jwksUrl,
          AUTH_KEYS_TIMEOUT_MS: '60000',
          AUTH_KEYS_MIN_INTERVAL_MS: '0',
          AUTH_KEYS_MAX_AGE_MS: '1000',
        },
        own,
      )
      const token = await own.sign()
      expect((await get('/any', token)).statusCode).toBe(200)
      own.setMode('hanging')
      await new Promise((r) => setTimeout(r, 1100))
      const deadline = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000).unref())
      const res = await Promise.race([get('/any', token), deadline])
      expect(res === 'hung' ? 'hung' : res.statusCode).toBe(200)
      // The refresh did go out (and hangs at the endpoint).
      for (let i = 0; i < 200 && own.fetches().jwks < 2; i++) await new Promise((r) => setTimeout(r, 50))
      expect(own.fetches().jwks).toBe(2)
    } finally {
      await own.close()
    }
  }, 30_000)

  it('a discovery document naming another issuer is refused (503, logged)', async () => {
    const own = await startTestIssuer({ audience: AUDIENCE })
    try {
      // The trailing slash makes AUTH_ISSUER differ from the document's issuer.
      const config = { AUTH_ISSUER: `${own.issuer}/` }
      await service(config, own)
      const res = await get('/any', await own.sign({ iss: `${own.issuer}/` }))
      expect(res.statusCode).toBe(503)
      expect(logged.some((l) => l.includes('names another issuer'))).toBe(true)
    } finally {
      await own.close()
    }
  })
})

describe('with AUTH_ISSUER unset', () => {
  it('verification is off, and the service says so once at start', async () => {
    const config = loadConfig({ ...serverVars, ...pressureVars, ...authVars }, {})
    const lines: string[] = []
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk))
        done()
      },
    })
    app = await createService(config, { name: 'test', logger: pino({ level: 'info' }, sink) })
    app.get('/any', async () => ({ ok: true }))
    await app.ready()
    expect((await get('/any')).statusCode).toBe(200)
    const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40)
    expect(warnings.map((w) => w.msg)).toEqual(['authentication is off: AUTH_ISSUER is unset'])
  })
})
