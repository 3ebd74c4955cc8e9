import { setTimeout as sleep } from 'node:timers/promises'
import { connect, freePort, type TestDatabase } from '@stack/testing'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migratedDatabase } from './helpers.js'
import { startServer, untilServing } from './process.js'

// Clients that send a whole POST and close their socket before the answer, against the real
// process. The inserts are made slow for real: the test holds a lock on the table that they wait on.

const N = 20
let database: TestDatabase
beforeAll(async () => {
  database = await migratedDatabase()
})
afterAll(() => database?.drop())

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000) {
  const deadline = performance.now() + timeoutMs
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`)
    await sleep(50)
  }
}

/** The value of one sample of the metrics text, 0 when the series does not exist. */
async function sample(metricsUrl: string, series: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line ? Number(line.slice(series.length + 1)) : 0
}

describe('requests abandoned by their client', () => {
  it('each leaves the in-flight list and is logged and measured once, as a 499; its row is still written', async () => {
    const metricsPort = await freePort()
    const server = await startServer({
      DATABASE_URL: database.url,
      DATABASE_POOL_MAX: String(N + 5),
      DATABASE_STATEMENT_TIMEOUT_MS: '60000',
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'info',
    })
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`
    const active = () => sample(metricsUrl, 'http_server_active_requests')
    await untilServing(server.url)
    const lock = new pg.Client({ connectionString: database.url })
    await lock.connect()
    try {
      await lock.query('begin')
      await lock.query('lock table notes in share mode')

      const ids = Array.from({ length: N }, (_, i) => `abandoned-${i}`)
      const sockets = await Promise.all(ids.map(() => connect(server.port)))
      ids.forEach((id, i) => {
        const body = JSON.stringify({ title: id })
        sockets[i]?.write(
          `POST /v1/notes HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        )
      })
      await until(`${N} requests in flight`, async () => (await active()) === N)
      for (const socket of sockets) socket.destroy()

      const lines = () =>
        server.lines().filter((l) => l.msg === 'request completed' && ids.includes(String(l.reqId)))
      await until('the in-flight list is empty', async () => (await active()) === 0)
      await until(`${N} log lines`, () => lines().length === N)

      await lock.query('commit')
      await until('every row is written', async () => {
        const { rows } = await lock.query('select count(*)::int as n from notes where title like $1', [
          'abandoned-%',
        ])
        return rows[0].n === N
      })
      // The handlers have answered their gone clients by now: nothing more is counted for them.
      await sleep(500)
      expect(lines().length).toBe(N)
      expect(new Set(lines().map((l) => l.reqId)).size).toBe(N)
      for (const line of lines()) {
        expect(line).toMatchObject({ method: 'POST', route: '/v1/notes', status: 499, aborted: true })
      }
      const labels = 'method="POST",route="/v1/notes",status_code="499"'
      expect(await sample(metricsUrl, `http_server_request_duration_seconds_count{${labels}}`)).toBe(N)
      expect(
        await sample(
          metricsUrl,
          'http_server_request_duration_seconds_count{method="POST",route="/v1/notes",status_code="201"}',
        ),
      ).toBe(0)
      expect(await active()).toBe(0)

      // A shutdown now names nothing in flight.
      server.child.kill('SIGTERM')
      const closing = await server.waitForLine(/closing the listener/, 30_000)
      expect(closing.inflight).toBe(0)
      expect((await server.exited).code).toBe(0)
    } finally {
      await lock.end()
      server.child.kill('SIGKILL')
      await server.exited
    }
  }, 120_000)
})
