import { setTimeout as sleep } from 'node:timers/promises'
import type { TestDatabase } from '@stack/testing'
import { processStats, sampleRss } from '@stack/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seed } from '../src/postgres.js'
import { MB } from '../src/stats.js'
import { report } from './support/figures.js'
import { countBy, keepAliveLoad, type Outcome, outcomeKey, poll } from './support/load.js'
import { migratedDatabase, problemIssues, request, startApi } from './support/server.js'

// Overload without a test-only route: the real server on one core with a small V8 heap, its
// shedding thresholds set low (but above idle), and far more work than it can do: 10 000-character
// notes written and listed 100 at a time (~1 MB of JSON per list) from 200 connections. It must shed
// (503 + Retry-After + problem+json) instead of queueing or dying, keep answering liveness as a
// kubelet would probe it, and serve normally again once the load is gone.
//
// The load's 200 connections are open before it starts, as a proxy's upstream pool is. Opened in
// the same instant as the load, they queued the first probes' connections behind them: libuv
// accepts one connection per event-loop iteration (libuv#3696), and with the loop busy serving the
// load it took 7 s to accept 200 (measured with a 'connection' hook in the server), so the first
// 1-5 probes in a row went unanswered in about one run in four (in CI too, in both tests). A
// kubelet (every 10 s, 3 failures) would have counted one failure at most.
//
// The second test sets an RSS threshold. RSS does not shrink after a spike (V8 and malloc keep the
// pages), so shedding on RSS alone latched: a replica whose RSS once crossed PRESSURE_MAX_RSS_BYTES
// answered 503 to every /v1 request from then on (found by this test, fixed by rssPressure in
// @stack/service).

const CONNECTIONS = 200
const LOAD_MS = Number(process.env.RELIABILITY_OVERLOAD_S ?? 20) * 1000
// The kubelet's liveness probe (deploy/k8s/base/deployment.yaml): every 10 s, 2 s timeout, 3 failures
// in a row restart the container. Probed here every 250 ms: never 3 failures in a row, and at most
// 1 % of probes over the timeout.
const LIVENESS_TIMEOUT_MS = 2000
const KUBELET_FAILURES = 3
const HEAP_MB = 96
// The young generation bounded too, as in production (compose.yaml, deploy/k8s): left to its default,
// V8 grows it past a 96 MB old space under this load, and then runs mark-compacts back to back at
// 100 % CPU long after the load is gone (seen here with --trace-gc).
const NODE_ARGS = [`--max-old-space-size=${HEAP_MB}`, '--max-semi-space-size=16']

let database: TestDatabase
beforeAll(async () => {
  database = await migratedDatabase()
  // Large rows from the start, so that every list is heavy.
  await seed(database.url, 200)
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  await client.query(`update notes set body = repeat('y', 10000)`)
  await client.end()
})
afterAll(() => database?.drop())

interface Run {
  outcomes: Outcome[]
  liveResults: { at: number; status?: number; ms: number; error?: string }[]
  recoveredMs: number
  rssAfter: [number, number | null][]
  /** RSS when /v1 first answered 200 after the load (NaN if it never did). */
  rssAtRecovery: number
  idleRss: number
  peakRss: number
  alive: boolean
  exitCode: number | null
}

/** Starts the API with `env`, overloads it for `loadMs`, then waits up to `recoverMs` for a /v1 200. */
async function overload(env: Record<string, string>, loadMs: number, recoverMs: number): Promise<Run> {
  const api = await startApi(
    { DATABASE_URL: database.url, PRESSURE_SAMPLE_INTERVAL_MS: '100', ...env },
    { nodeArgs: NODE_ARGS },
  )
  await sleep(500)
  const idleRss = processStats(api.pid).rssBytes
  const rss = sampleRss(api.pid, 100)
  const big = 'z'.repeat(10_000)
  let n = 0
  const load = keepAliveLoad({
    origin: api.url,
    connections: CONNECTIONS,
    timeoutMs: 60_000,
    next: () =>
      n++ % 2 === 0
        ? { kind: 'write', method: 'POST', path: '/v1/notes', body: { title: `overload ${n}`, body: big } }
        : { kind: 'list', path: '/v1/notes?limit=100' },
    openWith: '/health/live',
  })
  await load.open
  const live = poll(`${api.url}/health/live`, { intervalMs: 250, timeoutMs: LIVENESS_TIMEOUT_MS })
  await sleep(loadMs)
  const stopping = performance.now()
  const outcomes = await load.stop()

  let recoveredMs = Number.NaN
  while (performance.now() - stopping < recoverMs) {
    const res = await request(`${api.url}/v1/notes?limit=1`, { agent: false, timeoutMs: 5000 }).catch(
      () => undefined,
    )
    if (res?.status === 200) {
      recoveredMs = performance.now() - stopping
      break
    }
    await sleep(100)
  }
  const liveResults = await live.stop()
  const samples = rss.stop()
  const rssAfter = [0, 5, 10, 20].map((sec): [number, number | null] => {
    const sample = samples.find((x) => x.t >= stopping + sec * 1000)
    return [sec, sample ? Math.round(sample.rss / MB) : null]
  })
  const rssAtRecovery = samples.find((x) => x.t >= stopping + recoveredMs)?.rss ?? Number.NaN
  const alive = api.child.exitCode === null
  const peakRss = processStats(api.pid).peakRssBytes
  const exit = await api.stop()
  return {
    outcomes,
    liveResults,
    recoveredMs,
    rssAfter,
    rssAtRecovery,
    idleRss,
    peakRss,
    alive,
    exitCode: exit.code,
  }
}

function summarize(run: Run) {
  const { outcomes, liveResults } = run
  const shed = outcomes.filter((o) => o.status === 503)
  const reasons = countBy(
    shed,
    (o) => /overloaded \((\w+)\)/.exec(o.body ?? '')?.[1] ?? JSON.parse(o.body ?? '{}').code,
  )
  return {
    ok: outcomes.filter((o) => o.status !== undefined && o.status < 300),
    shed,
    reasons,
    badShed: shed
      .map((o) => ({
        o,
        issues: problemIssues({ status: 503, headers: o.headers ?? {}, body: o.body ?? '' }),
      }))
      .filter(({ o, issues }) => issues.length > 0 || !/^\d+$/.test(String(o.headers?.['retry-after']))),
    others: outcomes.filter((o) => o.status !== undefined && o.status >= 300 && o.status !== 503),
    socketErrors: outcomes.filter((o) => o.error),
    liveFailures: liveResults.filter((r) => r.status !== 200),
    liveStreak: longestStreak(liveResults.map((r) => r.status !== 200)),
    liveMaxMs: Math.round(Math.max(...liveResults.map((r) => r.ms))),
  }
}

function figures(run: Run, s: ReturnType<typeof summarize>, extra: Record<string, unknown>) {
  return {
    connections: CONNECTIONS,
    maxOldSpaceMB: HEAP_MB,
    nodeArgs: NODE_ARGS.join(' '),
    byStatus: countBy(run.outcomes, outcomeKey),
    shedReasons: s.reasons,
    idleRssMB: Math.round(run.idleRss / MB),
    peakRssMB: Math.round(run.peakRss / MB),
    rssAfterLoadMB: run.rssAfter,
    liveness: countBy(run.liveResults, (r) => r.error ?? String(r.status)),
    livenessMaxMs: s.liveMaxMs,
    livenessLongestFailureStreak: s.liveStreak,
    recoveredMs: Math.round(run.recoveredMs),
    processAlive: run.alive,
    exitCode: run.exitCode,
    ...extra,
  }
}

function describeRun(run: Run, s: ReturnType<typeof summarize>, seconds: number): string {
  const reasons = Object.entries(s.reasons)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
  return (
    `${run.outcomes.length} requests over ${CONNECTIONS} connections in ${seconds} s: ${s.ok.length} served, ` +
    `${s.shed.length} shed with 503 (${reasons}), ${s.others.length} other errors, ${s.socketErrors.length} socket errors; ` +
    `liveness ${run.liveResults.length - s.liveFailures.length}/${run.liveResults.length} 200 within ${LIVENESS_TIMEOUT_MS} ms ` +
    `(slowest ${s.liveMaxMs} ms, at most ${s.liveStreak} failed in a row); peak RSS ${Math.round(run.peakRss / MB)} MB with a ${HEAP_MB} MB old space; ` +
    `alive: ${run.alive}, exit ${run.exitCode}`
  )
}

describe('overload: blocking work and memory growth', () => {
  it('sheds with 503 + Retry-After on event-loop delay and heap, liveness stays 200, no crash, serves again', async () => {
    const run = await overload(
      {
        PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '100',
        // Idle heapUsed is ~17 MB; V8's own limit is ~100 MB here (--max-old-space-size=96).
        PRESSURE_MAX_HEAP_USED_BYTES: String(64 * MB),
        PRESSURE_RETRY_AFTER_S: '2',
      },
      LOAD_MS,
      30_000,
    )
    const s = summarize(run)
    report(
      'overload',
      `${describeRun(run, s, LOAD_MS / 1000)}; /v1 200 again ${Math.round(run.recoveredMs)} ms after the load stopped`,
      figures(run, s, { loadSeconds: LOAD_MS / 1000, heapThresholdMB: 64, eventLoopDelayThresholdMs: 100 }),
    )
    expectSurvived(run, s)
    expect(s.shed.length).toBeGreaterThan(0)
    expect(run.recoveredMs).toBeLessThan(30_000)
  })

  it('after a memory spike RSS stays over PRESSURE_MAX_RSS_BYTES, yet shedding ends with the load', async () => {
    const loadMs = Math.min(LOAD_MS, 10_000)
    // The threshold from the idle RSS this build has on this machine: idle + 40 MB.
    const first = await startApi({ DATABASE_URL: database.url }, { nodeArgs: NODE_ARGS })
    await sleep(500)
    const rssLimit = Math.round(processStats(first.pid).rssBytes + 40 * MB)
    await first.stop()

    // Whether a request is shed for memory during the load depends on how much of the RSS is in use
    // at a sample (apps/api/test/pressure.test.ts and rssPressure's tests cover that decision); what
    // this test proves is that pages kept after the spike do not keep the replica shedding.
    // The event-loop threshold as in the first test (at the default, 1 s, the replica queues up to a
    // second of work before it sheds: not what this test is about); the heap threshold is the
    // default, 90 % of the 96 MB old space.
    const run = await overload(
      {
        PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '100',
        PRESSURE_MAX_RSS_BYTES: String(rssLimit),
        PRESSURE_RETRY_AFTER_S: '2',
      },
      loadMs,
      20_000,
    )
    const s = summarize(run)
    report(
      'overload-rss',
      `${describeRun(run, s, loadMs / 1000)}; RSS threshold ${Math.round(rssLimit / MB)} MB; RSS after the load ` +
        `${run.rssAfter
          .filter(([, mb]) => mb !== null)
          .map(([sec, mb]) => `${mb} MB at ${sec} s`)
          .join(', ')}; /v1 ` +
        (Number.isNaN(run.recoveredMs)
          ? 'still shed 20 s after the load stopped'
          : `200 again ${Math.round(run.recoveredMs)} ms after the load stopped, at an RSS of ${Math.round(run.rssAtRecovery / MB)} MB`),
      figures(run, s, {
        loadSeconds: loadMs / 1000,
        rssThresholdMB: Math.round(rssLimit / MB),
        rssAtRecoveryMB: Math.round(run.rssAtRecovery / MB),
      }),
    )
    expectSurvived(run, s)
    expect(run.recoveredMs).toBeLessThan(20_000)
    // What makes this a test of the fix: RSS was still over the threshold when /v1 served again.
    expect(run.rssAtRecovery).toBeGreaterThan(rssLimit)
  })
})

/**
 * Alive and exiting 0 afterwards; every 503 a proper shed answer, no other error status, no socket
 * error; liveness as a kubelet sees it: never KUBELET_FAILURES failed probes in a row, at most 1 %.
 */
function expectSurvived(run: Run, s: ReturnType<typeof summarize>) {
  expect(run.alive).toBe(true)
  expect(s.badShed.slice(0, 3)).toEqual([])
  expect(s.others.slice(0, 3)).toEqual([])
  expect(s.socketErrors.slice(0, 3)).toEqual([])
  expect(s.liveStreak).toBeLessThan(KUBELET_FAILURES)
  expect(s.liveFailures.length).toBeLessThanOrEqual(Math.ceil(run.liveResults.length / 100))
  expect(run.exitCode).toBe(0)
}

/** The longest run of consecutive `true`s. */
function longestStreak(failed: boolean[]): number {
  let longest = 0
  let current = 0
  for (const f of failed) {
    current = f ? current + 1 : 0
    longest = Math.max(longest, current)
  }
  return longest
}
