import { setTimeout as sleep } from 'node:timers/promises'
import type { TestDatabase } from '@stack/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seed } from '../src/postgres.js'
import { report } from './support/figures.js'
import { countBy, keepAliveLoad, outcomeKey, poll } from './support/load.js'
import { migratedDatabase, startApi } from './support/server.js'

// A rolling update, as the proxy sees it: 64 keep-alive connections of reads and writes; SIGTERM;
// the proxy's health check sees readiness 503 and, after its reaction time, sends nothing more.
// Nothing may fail: not the requests in flight, not the ones sent before the proxy reacted.

const CONNECTIONS = 64
const DELAY_MS = 3000
// A proxy polling readiness every 500 ms that needs 2 failures, then 500 ms to update its routes.
const PROBE_INTERVAL_MS = 500
const PROBE_FAILURES = 2
const REACTION_MS = 500

let database: TestDatabase
let ids: string[]
beforeAll(async () => {
  database = await migratedDatabase()
  ids = await seed(database.url, 1000)
})
afterAll(() => database?.drop())

describe('SIGTERM under keep-alive load', () => {
  it('no request fails, the process exits 0 within the delay plus the drain', async () => {
    const api = await startApi({
      DATABASE_URL: database.url,
      SHUTDOWN_DELAY_MS: String(DELAY_MS),
      SHUTDOWN_TIMEOUT_MS: '10000',
      LOG_LEVEL: 'info',
      // 64 closed-loop connections keep one core at 100 %, where the default threshold (0.98) sheds:
      // that is overload.test.ts's subject. Here every 503 would be a shutdown failure.
      PRESSURE_MAX_EVENT_LOOP_UTILIZATION: '1',
    })
    let n = 0
    const load = keepAliveLoad({
      origin: api.url,
      connections: CONNECTIONS,
      next: () =>
        n++ % 4 === 0
          ? {
              kind: 'write',
              method: 'POST',
              path: '/v1/notes',
              body: { title: `sigterm ${n}`, body: 'x'.repeat(500) },
            }
          : { kind: 'read', path: `/v1/notes/${ids[n % ids.length]}` },
    })

    const probe = poll(`${api.url}/health/ready`, { intervalMs: PROBE_INTERVAL_MS, timeoutMs: 2000 })
    await sleep(2000)

    const sigterm = performance.now()
    api.child.kill('SIGTERM')

    // The proxy: PROBE_FAILURES readiness failures in a row, then its reaction time.
    let failures = 0
    for (let seen = 0; failures < PROBE_FAILURES; ) {
      await sleep(20)
      for (const r of probe.results.slice(seen))
        failures = r.at > sigterm && r.status !== 200 ? failures + 1 : 0
      seen = probe.results.length
    }
    const detectedMs = performance.now() - sigterm
    await sleep(REACTION_MS)
    const stoppedSendingMs = performance.now() - sigterm
    const outcomes = await load.stop()
    await probe.stop()
    const exit = await api.exited
    const exitMs = exit.at - sigterm

    const failed = outcomes.filter((o) => o.error || (o.status ?? 0) >= 300)
    const afterSigterm = outcomes.filter((o) => o.sent >= sigterm)
    const inflightAtSigterm = outcomes.filter((o) => o.sent < sigterm && o.ended > sigterm).length
    const complete = api.lines().find((l) => l.msg === 'shutdown complete')
    report(
      'sigterm',
      `${outcomes.length} requests sent over ${CONNECTIONS} keep-alive connections, ${failed.length} failed; ` +
        `${afterSigterm.length} sent after SIGTERM (${inflightAtSigterm} in flight at it); proxy stopped sending ` +
        `${Math.round(stoppedSendingMs)} ms after SIGTERM; exit ${exit.code} after ${Math.round(exitMs)} ms ` +
        `(SHUTDOWN_DELAY_MS=${DELAY_MS})`,
      {
        connections: CONNECTIONS,
        sent: outcomes.length,
        failed: failed.length,
        byStatus: countBy(outcomes, outcomeKey),
        firstFailure: failed[0] && { status: failed[0].status, error: failed[0].error, body: failed[0].body },
        sentAfterSigterm: afterSigterm.length,
        inflightAtSigterm,
        readinessDetectedMs: Math.round(detectedMs),
        stoppedSendingMs: Math.round(stoppedSendingMs),
        exitCode: exit.code,
        exitMs: Math.round(exitMs),
        shutdownDurationMs: complete?.durationMs,
      },
    )

    expect(failed.slice(0, 5)).toEqual([])
    // Load, not a trickle: every connection kept busy (a loaded machine managed 900 in all).
    expect(outcomes.length).toBeGreaterThan(CONNECTIONS * 4)
    expect(afterSigterm.length).toBeGreaterThan(0)
    expect(stoppedSendingMs).toBeLessThan(DELAY_MS)
    expect(exit.code).toBe(0)
    // The delay, then the drain of what is in flight (milliseconds here) and the pool's close.
    expect(exitMs).toBeLessThan(DELAY_MS + 2000)
    expect(api.lines().map((l) => l.msg)).toContain('shutdown complete')
  })
})
