import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type DevIssuer,
  type DevKey,
  loadOrCreateDevKey,
  signDevToken,
  startDevIssuer,
} from '../src/index.js'

// The issuer as a service sees it: discovery and keys over a real socket, and a token signed with the
// key verified the way @stack/service verifies one (jose, against the published key set).

let dir: string
let key: DevKey
let issuer: DevIssuer
let base: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stack-dev-issuer-'))
  key = (await loadOrCreateDevKey(dir)).key
  issuer = await startDevIssuer({ key, issuer: 'http://dev-issuer.test:3000/', host: '127.0.0.1', port: 0 })
  base = `http://127.0.0.1:${issuer.port}`
})
afterAll(async () => {
  await issuer?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('the development issuer', () => {
  it('publishes discovery under the issuer it was given (no trailing slash) and the public key only', async () => {
    expect(issuer.issuer).toBe('http://dev-issuer.test:3000')
    const discovery = await (await fetch(`${base}/.well-known/openid-configuration`)).json()
    expect(discovery).toMatchObject({
      issuer: 'http://dev-issuer.test:3000',
      jwks_uri: 'http://dev-issuer.test:3000/jwks',
      id_token_signing_alg_values_supported: ['ES256'],
    })
    const res = await fetch(`${base}/jwks?cache=1`)
    expect(res.headers.get('content-type')).toBe('application/json')
    const jwks = (await res.json()) as { keys: Record<string, unknown>[] }
    expect(jwks.keys).toHaveLength(1)
    expect(jwks.keys[0]).toMatchObject({ kid: key.kid, alg: 'ES256', use: 'sig', kty: 'EC' })
    expect(jwks.keys[0]).not.toHaveProperty('d')
  })

  it('stands behind the tokens its key signs, and behind no other issuer or audience', async () => {
    const keys = createRemoteJWKSet(new URL(`${base}/jwks`))
    const token = await signDevToken(key, {
      issuer: issuer.issuer,
      audience: 'api',
      subject: 'alice',
      scope: 'notes:read',
      ttlSeconds: 60,
    })
    const { payload } = await jwtVerify(token, keys, { issuer: issuer.issuer, audience: 'api' })
    expect(payload).toMatchObject({ sub: 'alice', scope: 'notes:read' })
    await expect(jwtVerify(token, keys, { issuer: 'http://other', audience: 'api' })).rejects.toThrow(/iss/)
    await expect(jwtVerify(token, keys, { issuer: issuer.issuer, audience: 'billing' })).rejects.toThrow(
      /aud/,
    )
  })

  it('answers the health checks, 404 elsewhere and 405 to anything but GET', async () => {
    for (const path of ['/health/live', '/health/ready']) expect((await fetch(base + path)).status).toBe(200)
    const missing = await fetch(`${base}/token`)
    expect(missing.status).toBe(404)
    const post = await fetch(`${base}/jwks`, { method: 'POST', body: '{}' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
  })

  it('says which variable to set when its port is taken', async () => {
    await expect(
      startDevIssuer({ key, issuer: 'http://x', host: '127.0.0.1', port: issuer.port }),
    ).rejects.toThrow(
      `the development issuer cannot listen on 127.0.0.1:${issuer.port} (in use): set DEV_ISSUER_PORT`,
    )
  })
})
