import http from 'node:http'
import type { TestDatabase } from '@stack/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seed } from '../src/postgres.js'
import { procMemory, sampleRss } from '../src/proc.js'
import { linearFit, MB, summarize } from '../src/stats.js'
import { report } from './support/figures.js'
import { metric, migratedDatabase, request, startApi } from './support/server.js'

// A soak: minutes of steady mixed traffic (reads, lists, creates, updates, deletes) at an even rate,
// RSS from /proc/<pid>/status every second: what the kernel and a container limit see. At this rate
// RSS climbs for ~2 minutes while V8 grows its heap in steps, then levels off; after that warm-up
// the least-squares slope must stay under the bar (a leak of ~110 bytes per request at 300 req/s
// would cross it). heapUsed from the server's own /metrics is reported beside it: it is a 30-110 MB
// saw-tooth here, too noisy over a few minutes for a slope to mean anything, so it is not asserted.

const SOAK_S = Number(process.env.RELIABILITY_SOAK_S ?? 300)
const RATE = Number(process.env.RELIABILITY_SOAK_RATE ?? 300)
const WARMUP_S = Math.min(120, SOAK_S / 2)
const RSS_BAR_MB_PER_MIN = 2

let database: TestDatabase
let ids: string[]
beforeAll(async () => {
  database = await migratedDatabase()
  ids = await seed(database.url, 2000)
})
afterAll(() => database?.drop())

describe('soak', () => {
  it(`${SOAK_S} s of mixed load at ${RATE} req/s: no error, RSS level after warm-up`, async () => {
    const api = await startApi({ DATABASE_URL: database.url, LOG_LEVEL: 'info' })
    const rss = sampleRss(api.child.pid, 1000)
    // heapUsed from the server's own /metrics (prom-client's default metrics), every 2 s.
    const heap: { t: number; bytes: number }[] = []
    const heapTimer = setInterval(async () => {
      const t = performance.now()
      const bytes = await metric(api, 'nodejs_heap_size_used_bytes')
      if (!Number.isNaN(bytes)) heap.push({ t, bytes })
    }, 2000)
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32 })
    const created: string[] = []
    const statuses: Record<string, number> = {}
    const latencies: number[] = []
    let errors = 0
    let inflight = 0
    let n = 0

    const call = async (i: number) => {
      const r = i % 20
      const id = ids[i % ids.length]
      // A note of our own is taken out of the list while a PATCH or DELETE of it runs.
      const mine = r >= 18 && created.length > 0 ? created.splice(i % created.length, 1)[0] : undefined
      const [method, path, body]: [string, string, unknown?] =
        r < 10
          ? ['GET', `/v1/notes/${id}`]
          : r < 14
            ? ['GET', `/v1/notes?limit=${1 + (i % 50)}`]
            : r < 18
              ? ['POST', '/v1/notes', { title: `soak ${i}`, body: 'x'.repeat(i % 2000) }]
              : r === 18 && mine
                ? ['PATCH', `/v1/notes/${mine}`, { body: `patched ${i}` }]
                : mine
                  ? ['DELETE', `/v1/notes/${mine}`]
                  : ['GET', '/health/ready']
      const started = performance.now()
      inflight++
      try {
        const res = await request(`${api.origin}${path}`, { method, body, agent, timeoutMs: 10_000 })
        statuses[res.status] = (statuses[res.status] ?? 0) + 1
        if (method === 'POST' && res.status === 201) created.push(JSON.parse(res.body).id)
        if (method === 'PATCH' && mine) created.push(mine)
        if (res.status >= 400) errors++
      } catch {
        errors++
        statuses.socket = (statuses.socket ?? 0) + 1
      } finally {
        inflight--
        latencies.push(performance.now() - started)
      }
    }

    // An even rate: request i is sent at start + i / RATE.
    const start = performance.now()
    const end = start + SOAK_S * 1000
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = Math.min(performance.now(), end)
        const due = Math.floor(((now - start) / 1000) * RATE)
        while (n < due) void call(n++)
        if (now < end) setTimeout(tick, 2)
        else resolve()
      }
      tick()
    })
    while (inflight > 0) await new Promise((r) => setTimeout(r, 10))
    const samples = rss.stop()
    clearInterval(heapTimer)
    agent.destroy()
    const peak = procMemory(api.child.pid, 'VmHWM')
    const exit = await api.child.stop()

    const after = samples.filter((s) => s.t >= start + WARMUP_S * 1000 && s.t < end)
    const fit = linearFit(after.map((s) => ({ x: (s.t - start) / 60_000, y: s.rss / MB })))
    // The lowest heapUsed of the first and of the last minute after warm-up: where GC gets back to.
    const low = (from: number, to: number) =>
      Math.min(...heap.filter((h) => h.t >= from && h.t < to).map((h) => h.bytes)) / MB
    const heapLow = [low(start + WARMUP_S * 1000, start + (WARMUP_S + 60) * 1000), low(end - 60_000, end)]
    const first = after[0]?.rss ?? Number.NaN
    const last = after.at(-1)?.rss ?? Number.NaN
    const lat = summarize(latencies)
    report(
      'soak',
      `${n} requests in ${SOAK_S} s at ${RATE} req/s (reads, lists, creates, updates, deletes), ${errors} errors; ` +
        `p99 ${lat.p99.toFixed(1)} ms; RSS ${Math.round(first / MB)} -> ${Math.round(last / MB)} MB after ${WARMUP_S} s of warm-up, ` +
        `slope ${fit.slope.toFixed(2)} MB/min (bar ${RSS_BAR_MB_PER_MIN}); lowest heapUsed ${round(heapLow[0] ?? Number.NaN)} MB in the first ` +
        `minute after warm-up, ${round(heapLow[1] ?? Number.NaN)} MB in the last; ` +
        `peak RSS ${Math.round(peak / MB)} MB; exit ${exit.code}`,
      {
        seconds: SOAK_S,
        rate: RATE,
        requests: n,
        errors,
        statuses,
        latencyMs: { p50: round(lat.p50), p99: round(lat.p99), max: round(lat.max) },
        warmupSeconds: WARMUP_S,
        rssSlopeMBPerMin: round(fit.slope),
        rssAfterWarmupMB: round(first / MB),
        rssEndMB: round(last / MB),
        peakRssMB: round(peak / MB),
        heapUsedLowestMB: heapLow.map(round),
        heapUsedSamplesMB: heap.map((s) => [round((s.t - start) / 1000), round(s.bytes / MB)]),
        rssSamplesMB: samples.map((s) => [round((s.t - start) / 1000), round(s.rss / MB)]),
      },
    )

    expect(errors).toBe(0)
    expect(n).toBeGreaterThanOrEqual(Math.floor(SOAK_S * RATE) - 1)
    expect(after.length).toBeGreaterThan(10)
    expect(fit.slope).toBeLessThan(RSS_BAR_MB_PER_MIN)
    expect(exit.code).toBe(0)
  })
})

const round = (v: number) => Math.round(v * 10) / 10
