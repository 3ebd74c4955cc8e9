import { setTimeout as sleep } from 'node:timers/promises'
import type { TestDatabase } from '@stack/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migratedDatabase } from './helpers.js'
import { request, startServer } from './process.js'

// The real process's stdout: log lines are buffered by default (LOG_BUFFER_BYTES), written out at
// least every 250 ms and at exit; none may be lost on a normal exit.

let database: TestDatabase
beforeAll(async () => {
  database = await migratedDatabase()
})
afterAll(() => database?.drop())

const completed = (logs: Record<string, unknown>[]) =>
  logs.filter((l) => l.msg === 'request completed').length

/** `n` requests one after another, each after the previous answer. */
async function sequential(url: string, n: number) {
  for (let i = 0; i < n; i++) {
    const res = await request(`${url}/v1/notes?limit=1`, { agent: false })
    expect(res.status, res.body).toBe(200)
  }
}

describe('log output of the real process', () => {
  it('buffered by default: few writes, lines out within the flush interval when idle, all of them at exit', async () => {
    const server = await startServer({
      DATABASE_URL: database.url,
      LOG_LEVEL: 'info',
      SHUTDOWN_DELAY_MS: '0',
    })
    const before = server.stdoutChunks()
    await sequential(server.url, 50)
    // Idle now: the periodic flush writes what the buffer holds.
    await sleep(600)
    expect(completed(server.lines())).toBe(50)
    const writes = server.stdoutChunks() - before
    // More lines, then SIGTERM at once: the rest is written at exit.
    await sequential(server.url, 20)
    server.child.kill('SIGTERM')
    const exit = await server.exited
    expect(exit.code).toBe(0)
    expect(completed(server.lines())).toBe(70)
    expect(server.lines().map((l) => l.msg)).toContain('shutdown complete')
    console.info(`50 request lines reached stdout in ${writes} reads`)
    // One write per line would be ~50 reads (requests are answered one after another).
    expect(writes).toBeLessThan(25)
  })

  it('LOG_BUFFER_BYTES=0 writes each line at once', async () => {
    const server = await startServer({
      DATABASE_URL: database.url,
      LOG_LEVEL: 'info',
      LOG_BUFFER_BYTES: '0',
      SHUTDOWN_DELAY_MS: '0',
    })
    try {
      const before = server.stdoutChunks()
      await sequential(server.url, 50)
      await sleep(100)
      expect(completed(server.lines())).toBe(50)
      expect(server.stdoutChunks() - before).toBeGreaterThan(25)
    } finally {
      server.child.kill('SIGTERM')
      await server.exited
    }
  })
})
