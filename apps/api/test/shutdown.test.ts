import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { TestDatabase } from '@stack/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { lockNote, migratedDatabase } from './helpers.js'
import { type Response, request, startServer } from './process.js'

// These run the real built server (dist/server.js) as a child process and signal it for real, over
// real keep-alive sockets. A slow request is made real too: a PATCH waiting on a row lock that the
// test holds from its own connection.

const DELAY = 1500
const TIMEOUT = 5000
let database: TestDatabase

beforeAll(async () => {
  database = await migratedDatabase()
})
afterAll(() => database?.drop())

const baseEnv = () => ({
  DATABASE_URL: database.url,
  SHUTDOWN_DELAY_MS: String(DELAY),
  SHUTDOWN_TIMEOUT_MS: String(TIMEOUT),
  DATABASE_STATEMENT_TIMEOUT_MS: '30000',
  LOG_LEVEL: 'info',
})

async function createNote(url: string, title: string): Promise<string> {
  const res = await request(`${url}/v1/notes`, { method: 'POST', body: { title } })
  expect(res.status).toBe(201)
  return JSON.parse(res.body).id
}

async function waitForBlockedUpdate(): Promise<void> {
  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  try {
    for (let i = 0; i < 200; i++) {
      const { rows } = await client.query(
        `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like 'update "notes"%'`,
      )
      if (rows[0].n > 0) return
      await sleep(20)
    }
    throw new Error('the PATCH never reached the row lock')
  } finally {
    await client.end()
  }
}

/** True once a new connection is refused, polling for up to `withinMs` (the log line precedes close()). */
async function connectRefused(port: number, withinMs = 1000): Promise<boolean> {
  const deadline = performance.now() + withinMs
  while (performance.now() < deadline) {
    if (await refusedOnce(port)) return true
    await sleep(10)
  }
  return false
}

function refusedOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health/live', agent: false }, (res) => {
      res.resume()
      resolve(false)
    })
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'))
  })
}

describe('graceful shutdown of the real process', () => {
  it('SIGTERM under keep-alive load: readiness 503 at once, no request fails, in-flight work finishes, exit 0', async () => {
    const server = await startServer(baseEnv())
    const readId = await createNote(server.url, 'read me')
    const slowId = await createNote(server.url, 'slow')

    const lock = await lockNote(database.url, slowId)
    const slowAgent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const slow = request(`${server.url}/v1/notes/${slowId}`, {
      method: 'PATCH',
      body: { title: 'patched' },
      agent: slowAgent,
    })
    await waitForBlockedUpdate()

    // Keep-alive load from 16 connections, as a proxy would send it.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })
    const results: { at: number; res?: Response; err?: string }[] = []
    let sending = true
    const worker = async () => {
      while (sending) {
        try {
          results.push({
            at: performance.now(),
            res: await request(`${server.url}/v1/notes/${readId}`, { agent }),
          })
        } catch (err) {
          results.push({ at: performance.now(), err: (err as Error).message })
        }
      }
    }
    const workers = Array.from({ length: 16 }, worker)
    await sleep(300)

    const sigterm = performance.now()
    server.child.kill('SIGTERM')

    // Readiness from a fresh connection, as the proxy's health check sees it.
    let readyFlippedMs = Number.NaN
    let readyFlippedAt = Number.NaN
    for (;;) {
      const res = await request(`${server.url}/health/ready`, { agent: false })
      if (res.status === 503) {
        readyFlippedMs = performance.now() - sigterm
        readyFlippedAt = performance.timeOrigin + performance.now()
        break
      }
    }

    // The proxy has taken the replica out of rotation before the delay ends: stop sending then.
    await sleep(DELAY - 300 - (performance.now() - sigterm))
    sending = false
    await Promise.all(workers)
    agent.destroy()

    const closing = await server.waitForLine(
      'shutdown: closing the listener and waiting for in-flight requests',
    )
    expect(await connectRefused(server.port)).toBe(true)

    // The slow request is still running; let it finish half a second into the close.
    await sleep(500)
    const slowStarted = performance.now()
    await lock.release()
    const slowRes = await slow
    slowAgent.destroy()

    const exit = await server.exited
    const exitMs = exit.at - sigterm
    const failed = results.filter((r) => r.err || r.res?.status !== 200)
    const afterSigterm = results.filter((r) => r.at > sigterm + 50 && r.res)
    console.info(
      `SIGTERM under load: ${results.length} requests sent, ${failed.length} failed; readiness 503 after ${readyFlippedMs.toFixed(1)} ms; ` +
        `slow request done ${(performance.now() - slowStarted).toFixed(0)} ms after its lock was released; exit ${exit.code} ${exitMs.toFixed(0)} ms after SIGTERM`,
    )

    // No bound on how fast this machine is: what matters is the order of events. Load ran before
    // and after the signal, readiness answered 503 while the replica still served (before its
    // listener closed, which the drain delay holds off), and exit 0 means before the hard deadline.
    expect(failed).toEqual([])
    expect(results.some((r) => r.at < sigterm)).toBe(true)
    expect(readyFlippedAt).toBeLessThan(Date.parse(String(closing.time)))
    expect(afterSigterm.length).toBeGreaterThan(0)
    expect(afterSigterm.every((r) => r.res?.headers.connection === 'close')).toBe(true)
    expect(slowRes.status).toBe(200)
    expect(JSON.parse(slowRes.body).title).toBe('patched')
    expect(slowRes.headers.connection).toBe('close')
    expect(exit.code).toBe(0)
    expect(exit.at).toBeGreaterThan(slowStarted)
    expect(server.lines().map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'shutdown: readiness is now 503, draining',
        'database pool closed',
        'shutdown complete',
      ]),
    )
  })

  it('a second signal exits 1 at once', async () => {
    const server = await startServer({ ...baseEnv(), SHUTDOWN_DELAY_MS: '10000' })
    server.child.kill('SIGINT')
    await server.waitForLine('shutdown: readiness is now 503, draining')
    const second = performance.now()
    server.child.kill('SIGTERM')
    const exit = await server.exited
    // At once: well inside the 10 s drain delay it would otherwise have waited out.
    expect(exit.code).toBe(1)
    expect(exit.at - second).toBeLessThan(10_000)
    expect(server.lines().map((l) => l.msg)).not.toContain('shutdown complete')
    expect(server.lines().map((l) => l.msg)).toContain('second signal during shutdown: exiting now')
  })

  it('past SHUTDOWN_TIMEOUT_MS: exit 1 and a log line naming the request still open', async () => {
    const server = await startServer({ ...baseEnv(), SHUTDOWN_DELAY_MS: '200', SHUTDOWN_TIMEOUT_MS: '1000' })
    const id = await createNote(server.url, 'stuck')
    const lock = await lockNote(database.url, id)
    const stuck = request(`${server.url}/v1/notes/${id}`, {
      method: 'PATCH',
      body: { title: 'never' },
      agent: false,
    }).catch((err: Error) => err)
    await waitForBlockedUpdate()
    const sigterm = performance.now()
    server.child.kill('SIGTERM')
    const exit = await server.exited
    await lock.release()
    await stuck

    expect(exit.code).toBe(1)
    // Not before the drain delay and the deadline have passed; the stuck request was still held.
    expect(exit.at - sigterm).toBeGreaterThan(1100)
    const line = server.lines().find((l) => String(l.msg).startsWith('shutdown deadline of 1000 ms exceeded'))
    expect(line).toMatchObject({
      level: 'error',
      inflight: [expect.objectContaining({ method: 'PATCH', url: `/v1/notes/${id}` })],
    })
  })
})

describe('configuration errors', () => {
  it('exit 2 with one line naming each bad variable', async () => {
    const server = await startServer(
      { PORT: '', DATABASE_URL: 'mysql://x', SHUTDOWN_DELAY_MS: 'soon', LOG_LEVEL: 'loud' },
      { waitFor: '' },
    )
    const exit = await server.exited
    expect(exit.code).toBe(2)
    const lines = server.stderr().trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^api: invalid configuration: /)
    for (const name of ['DATABASE_URL', 'SHUTDOWN_DELAY_MS', 'LOG_LEVEL']) expect(lines[0]).toContain(name)
  })
})
