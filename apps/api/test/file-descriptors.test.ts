import { readdirSync } from 'node:fs'
import type net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { connect, readResponse, type TestDatabase } from '@stack/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migratedDatabase } from './helpers.js'
import { request, startServer, untilServing } from './process.js'

// The real server under a limit of 256 file descriptors, sent 400 connections: it runs out of
// descriptors while its load-shedding sampler reads /proc, and must keep serving what it can.

const LIMIT = 256
let database: TestDatabase
beforeAll(async () => {
  database = await migratedDatabase()
})
afterAll(() => database?.drop())

const openFds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length

async function until(what: string, check: () => boolean, timeoutMs: number) {
  const deadline = performance.now() + timeoutMs
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`)
    await sleep(50)
  }
}

describe('out of file descriptors', () => {
  it('keeps running, serves its open connections, and answers new ones once descriptors are free', async () => {
    const server = await startServer(
      {
        DATABASE_URL: database.url,
        // Idle pool connections are not closed while the descriptors are gone.
        DATABASE_IDLE_TIMEOUT_MS: '600000',
        PRESSURE_SAMPLE_INTERVAL_MS: '100',
        // The RSS check (a health check of ours that also reads /proc) runs too.
        PRESSURE_MAX_RSS_BYTES: String(8 * 1024 ** 3),
        METRICS_ENABLED: 'false',
        LOG_LEVEL: 'info',
      },
      { wrapper: ['prlimit', `--nofile=${LIMIT}:${LIMIT}`] },
    )
    const pid = server.child.pid as number
    const sockets: net.Socket[] = []
    try {
      await untilServing(server.url)

      const first = await connect(server.port)
      sockets.push(first)
      const attempts = Array.from({ length: 400 }, () =>
        connect(server.port).then(
          (s) => sockets.push(s),
          () => {},
        ),
      )
      await until('the server holds every descriptor it may', () => openFds(pid) >= LIMIT - 2, 60_000)
      // A sample taken with no descriptor left: before the fix, an uncaught EMFILE and exit 1.
      await Promise.race([
        server.waitForLine(/memory usage cannot be sampled/, 30_000),
        server.exited.then(() => {
          const fatal = server.lines().find((l) => l.msg === 'uncaught exception')
          throw new Error(`the server exited: ${JSON.stringify(fatal?.err ?? server.stderr())}`.slice(0, 400))
        }),
      ])
      await sleep(500)
      expect(server.child.exitCode).toBeNull()

      // A connection it already holds is served; /v1 is not shed for want of an RSS figure.
      const live = readResponse(first, 20_000)
      first.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n')
      expect((await live).status).toBe(200)
      const notes = readResponse(first, 20_000)
      first.write('GET /v1/notes HTTP/1.1\r\nHost: x\r\n\r\n')
      expect((await notes).status).toBe(200)

      for (const s of sockets.splice(0)) s.destroy()
      await Promise.all(attempts)
      for (const s of sockets.splice(0)) s.destroy()
      await until('descriptors are free again', () => openFds(pid) < LIMIT / 2, 30_000)
      expect((await request(`${server.url}/health/live`, { timeoutMs: 20_000 })).status).toBe(200)
      expect(server.child.exitCode).toBeNull()
    } finally {
      for (const s of sockets) s.destroy()
      server.child.kill('SIGKILL')
      await server.exited
    }
  }, 180_000)
})
