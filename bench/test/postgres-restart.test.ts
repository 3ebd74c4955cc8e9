import { setTimeout as sleep } from 'node:timers/promises'
import { type PostgresServer, startPostgres } from '@stack/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seed } from '../src/postgres.js'
import { report } from './support/figures.js'
import { countBy, keepAliveLoad, outcomeKey, poll } from './support/load.js'
import { migratedDatabase, problemIssues, startApi } from './support/server.js'

// PostgreSQL restarted under load (a failover, a minor-version upgrade): the API must neither crash
// nor answer 500; while the database is away every /v1 answer is a 503 problem+json, liveness stays
// 200, and the API serves again on its own once the database is back.

const CONNECTIONS = 32
const OUTAGE_MS = 5000
// Bar for the first 200 after the database accepts connections again: one connect timeout
// (DATABASE_CONNECT_TIMEOUT_MS, 2 s) plus a margin for a loaded 2-core machine.
const RECOVERY_BAR_MS = 5000

let server: PostgresServer
let url: string
let ids: string[]

beforeAll(async () => {
  // A server of this file's own, so that it can be stopped and started.
  server = await startPostgres({ external: true })
  const database = await migratedDatabase(server.url)
  url = database.url
  ids = await seed(url, 1000)
}, 180_000)
afterAll(() => server?.destroy())

describe('PostgreSQL restarted under load', () => {
  it('no crash, no 500, no socket error; 503 problem+json while it is down; serves again on its own', async () => {
    const api = await startApi({
      DATABASE_URL: url,
      // Shedding on CPU saturation would add 503s of another cause (overload.test.ts covers it).
      PRESSURE_MAX_EVENT_LOOP_UTILIZATION: '1',
    })
    let n = 0
    const load = keepAliveLoad({
      origin: api.url,
      connections: CONNECTIONS,
      next: () =>
        n++ % 3 === 0
          ? { kind: 'write', method: 'POST', path: '/v1/notes', body: { title: `restart ${n}` } }
          : { kind: 'read', path: `/v1/notes/${ids[n % ids.length]}` },
    })
    const live = poll(`${api.url}/health/live`, { intervalMs: 100, timeoutMs: 2000 })
    const ready = poll(`${api.url}/health/ready`, { intervalMs: 250, timeoutMs: 2000 })
    await sleep(2000)

    const stopping = performance.now()
    await server.stop()
    const down = performance.now()
    await sleep(OUTAGE_MS)
    const starting = performance.now()
    await server.start()
    const up = performance.now()
    // Wait for the first 2xx of a request sent after the database was back.
    const deadline = up + 30_000
    let recovered: number | undefined
    while (recovered === undefined && performance.now() < deadline) {
      await sleep(50)
      recovered = load.outcomes.find((o) => o.sent >= up && o.status !== undefined && o.status < 300)?.ended
    }
    await sleep(2000)
    const outcomes = await load.stop()
    const liveResults = await live.stop()
    const readyResults = await ready.stop()

    const alive = api.child.exitCode === null
    const errors = outcomes.filter((o) => o.status === undefined || o.status >= 300)
    const not503 = errors.filter((o) => o.status !== 503)
    const badProblems = errors
      .filter((o) => o.status === 503)
      .map((o) => ({
        o,
        issues: problemIssues({ status: 503, headers: o.headers ?? {}, body: o.body ?? '' }),
      }))
      .filter(({ o, issues }) => issues.length > 0 || o.headers?.['retry-after'] === undefined)
    const liveFailures = liveResults.filter((r) => r.status !== 200)
    const readyDuring = readyResults.filter((r) => r.at > down + 500 && r.at < starting)
    const readyAgain = readyResults.find((r) => r.at > up && r.status === 200)
    const recoveryMs = recovered === undefined ? Number.NaN : recovered - up
    await api.stop()

    report(
      'postgres-restart',
      `${outcomes.length} requests over ${CONNECTIONS} connections; PostgreSQL down ${Math.round(starting - stopping)} ms; ` +
        `${errors.length} errors, all 503 problem+json: ${not503.length === 0 && badProblems.length === 0}; 500s: ${outcomes.filter((o) => o.status === 500).length}; ` +
        `liveness ${liveResults.length - liveFailures.length}/${liveResults.length} 200; first /v1 2xx ${Math.round(recoveryMs)} ms ` +
        `after PostgreSQL accepted connections again; process alive: ${alive}`,
      {
        connections: CONNECTIONS,
        backend: server.backend,
        requests: outcomes.length,
        byStatus: countBy(outcomes, outcomeKey),
        stopMs: Math.round(down - stopping),
        outageMs: Math.round(starting - stopping),
        startMs: Math.round(up - starting),
        recoveryMs: Math.round(recoveryMs),
        readyAgainMs: readyAgain ? Math.round(readyAgain.at - up) : null,
        liveness: countBy(liveResults, (r) => r.error ?? String(r.status)),
        livenessMaxMs: Math.round(Math.max(...liveResults.map((r) => r.ms))),
        processAlive: alive,
      },
    )

    expect(alive).toBe(true)
    expect(not503.slice(0, 3)).toEqual([])
    expect(badProblems.slice(0, 3)).toEqual([])
    expect(errors.length).toBeGreaterThan(0) // the outage was seen
    expect(liveFailures).toEqual([])
    expect(readyDuring.every((r) => r.status === 503)).toBe(true)
    expect(recoveryMs).toBeLessThan(RECOVERY_BAR_MS)
  })
})
