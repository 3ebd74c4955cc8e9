import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type DevKey, keyFile, loadOrCreateDevKey } from '@stack/dev-issuer'
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// `pnpm run token` as a person runs it: the real CLI, the key `pnpm dev` keeps, and the shell's view of
// its output (stdout, stderr, exit code).

const TOKEN = fileURLToPath(new URL('../src/token.ts', import.meta.url))
const ROOT = fileURLToPath(new URL('../../..', import.meta.url))

let dir: string
let key: DevKey
const env = () => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '',
  DEV_ISSUER_DIR: dir,
  DEV_ISSUER_PORT: '54999',
})
const run = (args: string[], extra: Record<string, string> = {}) => {
  const out = spawnSync(process.execPath, [TOKEN, ...args], { env: { ...env(), ...extra }, encoding: 'utf8' })
  return { code: out.status, stdout: out.stdout, stderr: out.stderr }
}

beforeAll(async () => {
  dir = join(mkdtempSync(join(tmpdir(), 'stack-token-')), 'dev-issuer')
  key = (await loadOrCreateDevKey(dir)).key
})
afterAll(() => rmSync(join(dir, '..'), { recursive: true, force: true }))

describe('the development key', () => {
  it('is written once, 0600, and read back the same', async () => {
    expect(statSync(keyFile(dir)).mode & 0o777).toBe(0o600)
    const again = await loadOrCreateDevKey(dir)
    expect(again.created).toBe(false)
    expect(again.key).toEqual(key)
    expect(key.publicJwk).not.toHaveProperty('d')
  })
})

describe('pnpm run token', () => {
  it('prints one token the development key signed, for the API, with the default scopes, for an hour', async () => {
    const { code, stdout, stderr } = run([])
    expect(code).toBe(0)
    expect(stderr).toBe('')
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/)
    const { payload, protectedHeader } = await jwtVerify(
      stdout.trim(),
      createLocalJWKSet({ keys: [key.publicJwk] }),
      {
        issuer: 'http://127.0.0.1:54999',
        audience: 'api',
        algorithms: ['ES256'],
      },
    )
    expect(protectedHeader.kid).toBe(key.kid)
    expect(payload).toMatchObject({ sub: 'dev-user', scope: 'notes:read notes:write' })
    expect((payload.exp as number) - (payload.iat as number)).toBe(3600)
  })

  it('takes --sub, --scope, --ttl and --aud', () => {
    const { code, stdout } = run([
      '--sub',
      'alice',
      '--scope',
      ' notes:read  ',
      '--ttl',
      '15m',
      '--aud',
      'billing',
    ])
    expect(code).toBe(0)
    const claims = decodeJwt(stdout.trim())
    expect(claims).toMatchObject({ sub: 'alice', scope: 'notes:read', aud: 'billing' })
    expect((claims.exp as number) - (claims.iat as number)).toBe(900)
  })

  it.each([
    [['--ttl', '0'], 'token: --ttl "0": expected a duration such as 90s, 15m, 1h or 7d'],
    [['--ttl', '1y'], 'token: --ttl "1y": expected a duration such as 90s, 15m, 1h or 7d'],
    [['--ttl', '31d'], 'token: --ttl "31d": expected a duration such as 90s, 15m, 1h or 7d'],
    [['--sub', ''], 'token: --sub must not be empty'],
    [['--nope'], "token: Unknown option '--nope'"],
    [['alice'], "token: Unexpected argument 'alice'"],
  ])('refuses %j: one line, exit 2', (args, reason) => {
    const { code, stdout, stderr } = run(args)
    expect(code).toBe(2)
    expect(stdout).toBe('')
    expect(stderr.startsWith(reason)).toBe(true)
    expect(stderr.trimEnd().split('\n')).toHaveLength(1)
  })

  it('without a key, says to run pnpm dev once: exit 1', () => {
    const { code, stdout, stderr } = run([], { DEV_ISSUER_DIR: join(dir, '..', 'none') })
    expect(code).toBe(1)
    expect(stdout).toBe('')
    expect(stderr).toBe(
      `token: no development key in ${join(dir, '..', 'none', 'key.json')}: run pnpm dev once\n`,
    )
  })

  it('`pnpm --silent run token` prints the token and nothing else, for $(...) in a curl command', () => {
    const out = spawnSync('pnpm', ['--silent', 'run', 'token', '--sub', 'bob'], {
      cwd: ROOT,
      env: env(),
      encoding: 'utf8',
    })
    expect(out.status, out.stderr).toBe(0)
    // Not even pnpm's `$ node …` echo (which pnpm 12.21 still writes to stderr with `-s`).
    expect(out.stderr).toBe('')
    expect(out.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/)
    expect(decodeJwt(out.stdout).sub).toBe('bob')
    // As pnpm 12 still passes the `--` older versions needed.
    const dashed = spawnSync('pnpm', ['--silent', 'run', 'token', '--', '--sub', 'carol'], {
      cwd: ROOT,
      env: env(),
      encoding: 'utf8',
    })
    expect(dashed.status, dashed.stderr).toBe(0)
    expect(decodeJwt(dashed.stdout).sub).toBe('carol')
  })
})
