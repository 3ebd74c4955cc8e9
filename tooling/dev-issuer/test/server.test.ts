import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, spawnServer } from '@stack/testing'
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// What the dev-issuer image runs: the bundle (CMD node dist/server.bundle.js) and dist/token.js (what
// `docker compose exec -T dev-issuer node dist/token.js` runs), as real processes.

const BUNDLE = fileURLToPath(new URL('../dist/server.bundle.js', import.meta.url))
const TOKEN = fileURLToPath(new URL('../dist/token.js', import.meta.url))
const ISSUER = 'http://dev-issuer:3000'

let dir: string
beforeAll(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'stack-dev-issuer-')), 'keys')
})
afterAll(() => rmSync(join(dir, '..'), { recursive: true, force: true }))

const token = (args: string[], extra: Record<string, string> = {}) => {
  const out = spawnSync(process.execPath, [TOKEN, ...args], {
    env: { PATH: process.env.PATH ?? '', DEV_ISSUER_URL: ISSUER, DEV_ISSUER_DIR: dir, ...extra },
    encoding: 'utf8',
  })
  return { code: out.status, stdout: out.stdout, stderr: out.stderr }
}

describe('the dev-issuer image', () => {
  it('makes its key once (0600), serves it, stands behind dist/token.js, keeps it across a restart, and exits 0 on SIGTERM', async () => {
    const kids: string[] = []
    for (let run = 0; run < 2; run++) {
      const port = await freePort()
      const server = await spawnServer({
        entry: BUNDLE,
        ports: false,
        env: { DEV_ISSUER_URL: ISSUER, DEV_ISSUER_DIR: dir, HOST: '127.0.0.1', PORT: String(port) },
      })
      try {
        const line = await server.waitForLine('development issuer listening')
        expect(line).toMatchObject({
          level: 'info',
          service: 'dev-issuer',
          issuer: ISSUER,
          key: `${run === 0 ? 'created in' : 'from'} ${dir}`,
        })
        expect(line.address).toBe(`127.0.0.1:${port}`)
        kids.push(String(line.kid))
        const base = `http://127.0.0.1:${port}`
        expect((await fetch(`${base}/health/ready`)).status).toBe(200)

        const issued = token(['--sub', 'alice', '--scope', 'notes:read'])
        expect(issued.code, issued.stderr).toBe(0)
        expect(issued.stderr).toBe('')
        const { payload, protectedHeader } = await jwtVerify(
          issued.stdout.trim(),
          createRemoteJWKSet(new URL(`${base}/jwks`)),
          { issuer: ISSUER, audience: 'api', algorithms: ['ES256'] },
        )
        expect(protectedHeader.kid).toBe(line.kid)
        expect(payload).toMatchObject({ sub: 'alice', scope: 'notes:read' })
      } finally {
        expect(await server.stop('SIGTERM')).toMatchObject({ code: 0, signal: null })
      }
    }
    expect(kids[1]).toBe(kids[0])
    expect(statSync(join(dir, 'key.json')).mode & 0o777).toBe(0o600)
    expect(JSON.parse(readFileSync(join(dir, 'key.json'), 'utf8'))).toMatchObject({ kid: kids[0] })
  })

  it('refuses to start without DEV_ISSUER_URL: one line naming it, exit 2', async () => {
    const server = await spawnServer({ entry: BUNDLE, ports: false, env: { DEV_ISSUER_DIR: dir } })
    const exit = await server.exited
    expect(exit.code).toBe(2)
    expect(server.output()).toContain('DEV_ISSUER_URL')
  })

  it('dist/token.js: a bad argument is one line and exit 2; no key yet, exit 1 saying the service has not started', () => {
    const bad = token(['--ttl', '1y'])
    expect(bad.code).toBe(2)
    expect(bad.stdout).toBe('')
    expect(bad.stderr).toBe('token: --ttl "1y": expected a duration such as 90s, 15m, 1h or 7d\n')
    const none = token([], { DEV_ISSUER_DIR: join(dir, '..', 'none') })
    expect(none.code).toBe(1)
    expect(none.stderr).toBe(
      `token: no development key in ${join(dir, '..', 'none', 'key.json')}: the dev-issuer service has not started yet\n`,
    )
    const aud = token(['--aud', 'billing'])
    expect(aud.code).toBe(0)
    expect(decodeJwt(aud.stdout.trim())).toMatchObject({ iss: ISSUER, aud: 'billing', sub: 'dev-user' })
  })
})
