import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import net from 'node:net'
import { networkInterfaces, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  createTestDatabase,
  freePort,
  request,
  spawnServer,
  startTestIssuer,
  type TestDatabase,
  waitForStatus,
} from '@stack/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// `pnpm dev` as a person runs it: the real runner, the real API in watch mode, a real database.

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url))
const TOKEN = fileURLToPath(new URL('../src/token.ts', import.meta.url))

/** `pnpm run token` as the runner's issuer variables see it: its stdout, the token. */
function token(env: Record<string, string>, args: string[] = []): string {
  return execFileSync(process.execPath, [TOKEN, ...args], { env: { ...env, PATH: process.env.PATH ?? '' } })
    .toString()
    .trim()
}

let database: TestDatabase
beforeAll(async () => {
  database = await createTestDatabase()
})
afterAll(() => database?.drop())

/** The machine's own addresses other than loopback (eth0, docker0, ...): where the LAN would connect. */
function outsideAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal)
    .map((a) => a?.address as string)
}

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host)
    socket.once('connect', () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'))
  })
}

describe('pnpm dev', () => {
  it('with no DATABASE_URL: its own PostgreSQL and development issuer, the API on loopback with auth on, readable logs, one line of URLs; Ctrl-C stops all', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'stack-dev-')), 'postgres')
    const issuerDir = join(dirname(dataDir), 'dev-issuer')
    const pgPort = await freePort()
    const issuerPort = await freePort()
    const issuerEnv = { DEV_ISSUER_DIR: issuerDir, DEV_ISSUER_PORT: String(issuerPort) }
    const env = {
      HOME: process.env.HOME ?? '',
      DEV_DATA_DIR: dataDir,
      DEV_DATABASE_PORT: String(pgPort),
      ...issuerEnv,
    }
    // HOST unset (empty reads as unset), as in a person's shell: loopback must be the runner's default.
    const dev = await spawnServer({ command: [process.execPath, MAIN, 'api'], env: { ...env, HOST: '' } })
    try {
      const [line] = await dev.waitForOutput(/^\[dev\] api .*$/m, 300_000)
      const api = `http://127.0.0.1:${dev.port}`
      expect(line).toBe(
        `[dev] api ${api}  ·  OpenAPI ${api}/openapi.json  ·  metrics http://127.0.0.1:${dev.metricsPort}/metrics  ·  ` +
          `database postgres://postgres@127.0.0.1:${pgPort}/api`,
      )

      // Auth is on: the development issuer's discovery and keys on loopback, its key kept 0600.
      const issuer = `http://127.0.0.1:${issuerPort}`
      expect(dev.output()).toContain(
        `[dev] development issuer ${issuer} (key created in ${issuerDir}/key.json)`,
      )
      expect(dev.output()).toContain(
        `curl -H "Authorization: Bearer $(pnpm --silent run token)" ${api}/v1/notes\n`,
      )
      expect(statSync(join(issuerDir, 'key.json')).mode & 0o777).toBe(0o600)
      const discovery = JSON.parse(
        (await waitForStatus(`${issuer}/.well-known/openid-configuration`, 200)).body,
      )
      expect(discovery).toMatchObject({ issuer, jwks_uri: `${issuer}/jwks` })
      const { keys } = JSON.parse((await waitForStatus(`${issuer}/jwks`, 200)).body) as {
        keys: { d?: string }[]
      }
      expect(keys).toHaveLength(1)
      expect(keys[0]?.d).toBeUndefined()

      // No token: 401. A token from `pnpm run token`: the runner ran the API's migrations, the notes table is there.
      const unauthenticated = await waitForStatus(`${api}/v1/notes?limit=1`, 401)
      expect(unauthenticated.headers['www-authenticate']).toBe('Bearer')
      const bearer = { authorization: `Bearer ${token(issuerEnv)}` }
      await waitForStatus(`${api}/v1/notes?limit=1`, 200, { headers: bearer })
      // Scopes are the ones asked for: read-only cannot write.
      const readOnly = { authorization: `Bearer ${token(issuerEnv, ['--scope', 'notes:read'])}` }
      await waitForStatus(`${api}/v1/notes?limit=1`, 200, { headers: readOnly })
      const created = await request(`${api}/v1/notes`, {
        method: 'POST',
        headers: { ...readOnly, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'read-only', body: 'no' }),
      })
      expect(created.status).toBe(403)
      expect((await waitForStatus(`${api}/openapi.json`, 200)).body).toContain('"openapi":"3.1')
      await waitForStatus(`http://127.0.0.1:${dev.metricsPort}/metrics`, 200)
      const outside = outsideAddresses()
      console.info(
        `not reachable on: ${outside.join(', ') || 'no address other than loopback on this machine'}`,
      )
      for (const address of outside) {
        expect(await refused(address, dev.port), `${address}:${dev.port}`).toBe(true)
        expect(await refused(address, dev.metricsPort), `${address}:${dev.metricsPort}`).toBe(true)
      }

      // A person's lines, not pino's JSON: `[HH:MM:ss.mmm] INFO: listening {...}`.
      // (Log lines are written in batches: the request's comes a little after its response.)
      await dev.waitForOutput(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: request completed /m)
      expect(dev.output()).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: listening /m)
      expect(dev.output()).not.toMatch(/^\{"level"/m)

      dev.signal('SIGINT')
      expect((await dev.exited).code).toBe(0)
      // The app went with it, and then the database.
      expect(dev.output()).toMatch(/^\[dev\] PostgreSQL stopped; data kept in /m)
      expect(await refused('127.0.0.1', dev.port)).toBe(true)
      expect(await refused('127.0.0.1', pgPort)).toBe(true)
      expect(await refused('127.0.0.1', issuerPort)).toBe(true)
      const key = readFileSync(join(issuerDir, 'key.json'), 'utf8')

      // The next run finds the data where it left it: nothing to initialise, nothing to migrate; the
      // same key, so a token from before the restart still works.
      const again = await spawnServer({ command: [process.execPath, MAIN, 'api'], env: { ...env, HOST: '' } })
      try {
        await again.waitForOutput(/^\[dev\] api .*$/m, 300_000)
        expect(again.output()).toMatch(/^\[dev\] migrations: 0 applied, [1-9]\d* already there$/m)
        expect(again.output()).toContain(`(key from ${issuerDir}/key.json)`)
        expect(readFileSync(join(issuerDir, 'key.json'), 'utf8')).toBe(key)
        await waitForStatus(`http://127.0.0.1:${again.port}/v1/notes?limit=1`, 200, { headers: bearer })
        again.signal('SIGINT')
        expect((await again.exited).code).toBe(0)
      } finally {
        await again.stop('SIGINT', 60_000)
      }
    } finally {
      // Ctrl-C first, so that a failed test leaves no app or database behind.
      await dev.stop('SIGINT', 60_000)
      rmSync(dirname(dataDir), { recursive: true, force: true })
    }
  })

  it("with DATABASE_URL: that database, migrated, is the app's", async () => {
    const issuerDir = mkdtempSync(join(tmpdir(), 'stack-dev-issuer-'))
    const issuerEnv = { DEV_ISSUER_DIR: issuerDir, DEV_ISSUER_PORT: String(await freePort()) }
    const dev = await spawnServer({
      command: [process.execPath, MAIN, 'api'],
      env: { HOME: process.env.HOME ?? '', DATABASE_URL: database.url, ...issuerEnv },
    })
    try {
      const [line] = await dev.waitForOutput(/^\[dev\] api .*$/m, 300_000)
      const shown = new URL(database.url)
      shown.password = ''
      expect(line).toContain(`  ·  database ${shown}`)
      await waitForStatus(`http://127.0.0.1:${dev.port}/v1/notes?limit=1`, 200, {
        headers: { authorization: `Bearer ${token(issuerEnv)}` },
      })
      dev.signal('SIGINT')
      expect((await dev.exited).code).toBe(0)
    } finally {
      await dev.stop('SIGINT', 60_000)
      rmSync(issuerDir, { recursive: true, force: true })
    }
  })

  it('with AUTH_ISSUER: that provider, no development issuer; its tokens work, the dev key is not created', async () => {
    const provider = await startTestIssuer({ audience: 'notes-api' })
    const issuerDir = join(mkdtempSync(join(tmpdir(), 'stack-dev-issuer-')), 'dev-issuer')
    const dev = await spawnServer({
      command: [process.execPath, MAIN, 'api'],
      env: {
        HOME: process.env.HOME ?? '',
        DATABASE_URL: database.url,
        AUTH_ISSUER: provider.issuer,
        AUTH_AUDIENCE: 'notes-api',
        DEV_ISSUER_DIR: issuerDir,
      },
    })
    try {
      await dev.waitForOutput(/^\[dev\] api .*$/m, 300_000)
      expect(dev.output()).toContain(`[dev] auth on: tokens from ${provider.issuer}\n`)
      expect(dev.output()).not.toContain('development issuer')
      expect(existsSync(issuerDir)).toBe(false)
      const notes = `http://127.0.0.1:${dev.port}/v1/notes?limit=1`
      await waitForStatus(notes, 401)
      const signed = await provider.sign({ scope: 'notes:read' })
      await waitForStatus(notes, 200, { headers: { authorization: `Bearer ${signed}` } })
      dev.signal('SIGINT')
      expect((await dev.exited).code).toBe(0)
    } finally {
      await dev.stop('SIGINT', 60_000)
      await provider.close()
      rmSync(dirname(issuerDir), { recursive: true, force: true })
    }
  })

  it("says which port when the development issuer's is taken: one line, exit 1, nothing else started", async () => {
    const taken = net.createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as net.AddressInfo).port
    const issuerDir = mkdtempSync(join(tmpdir(), 'stack-dev-issuer-'))
    try {
      const dev = await spawnServer({
        command: [process.execPath, MAIN, 'api'],
        env: { HOME: process.env.HOME ?? '', DEV_ISSUER_DIR: issuerDir, DEV_ISSUER_PORT: String(port) },
      })
      expect((await dev.exited).code).toBe(1)
      expect(dev.stderr()).toBe(
        `dev: the development issuer cannot listen on 127.0.0.1:${port} (in use): set DEV_ISSUER_PORT\n`,
      )
      expect(dev.output()).not.toMatch(/PostgreSQL 18 on/)
    } finally {
      await new Promise((resolve) => taken.close(resolve))
      rmSync(issuerDir, { recursive: true, force: true })
    }
  })

  it('refuses an app that is not in apps/ with one line, exit 2', async () => {
    const dev = await spawnServer({ command: [process.execPath, MAIN, 'nosuch'], ports: false })
    expect((await dev.exited).code).toBe(2)
    expect(dev.stderr()).toBe('dev: no app "nosuch": expected apps/nosuch/package.json\n')
  })
})
