import { readFileSync } from 'node:fs'
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { UNMATCHED_ROUTE } from '@stack/service'
import { freePort, type TestDatabase } from '@stack/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { buildApp } from '../src/app.js'
import { lockNote, migratedDatabase, testConfig } from './helpers.js'

// The API's /metrics after real traffic over real sockets, read back as a scraper reads it.

let database: TestDatabase
beforeAll(async () => {
  database = await migratedDatabase()
})
afterAll(() => database?.drop())

type App = Awaited<ReturnType<typeof buildApp>>
const apps: App[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

async function listening(env: Record<string, string> = {}) {
  const metricsPort = await freePort()
  const app = await buildApp(
    testConfig({ DATABASE_URL: database.url, HOST: '127.0.0.1', METRICS_PORT: String(metricsPort), ...env }),
  )
  apps.push(app)
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  await app.metrics.listening()
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`
  return { app, url, metricsPort, scrape: () => scrape(metricsUrl) }
}

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** Prometheus' text format, as prom-client writes it (no escapes in our label values). */
async function scrape(metricsUrl: string) {
  const res = await fetch(metricsUrl)
  expect(res.status).toBe(200)
  const samples: Sample[] = []
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match) throw new Error(`not a sample line: ${line}`)
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    )
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) })
  }
  /** The one sample named `name` whose labels include `labels`; 0 when there is none (a series not yet born). */
  const value = (name: string, labels: Record<string, string> = {}) => {
    const found = samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    )
    if (found.length > 1)
      throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`)
    return found[0]?.value ?? 0
  }
  return { samples, value }
}

const COUNT = 'http_server_request_duration_seconds_count'

async function createNote(url: string, title: string): Promise<string> {
  const res = await fetch(`${url}/v1/notes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title }),
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { id: string }).id
}

describe('request metrics', () => {
  it('a 200 and two kinds of 404 move the series of their route template; unknown routes share one label', async () => {
    const { url, scrape } = await listening()
    const id = await createNote(url, 'counted')
    const before = await scrape()

    expect((await fetch(`${url}/v1/notes/${id}`)).status).toBe(200)
    // A 404 from a route (the note does not exist) keeps the route's template ...
    expect((await fetch(`${url}/v1/notes/00000000-0000-4000-8000-000000000000`)).status).toBe(404)
    // ... a 404 from no route at all gets the fixed label, never the URL.
    expect((await fetch(`${url}/wp-admin/setup.php?step=1`)).status).toBe(404)
    expect((await fetch(`${url}/v1/nope/${id}`)).status).toBe(404)

    const after = await scrape()
    const delta = (labels: Record<string, string>) => after.value(COUNT, labels) - before.value(COUNT, labels)
    expect(delta({ method: 'GET', route: '/v1/notes/:id', status_code: '200' })).toBe(1)
    expect(delta({ method: 'GET', route: '/v1/notes/:id', status_code: '404' })).toBe(1)
    expect(delta({ method: 'GET', route: UNMATCHED_ROUTE, status_code: '404' })).toBe(2)
    expect(after.value(COUNT, { method: 'POST', route: '/v1/notes', status_code: '201' })).toBe(1)
    const labelText = after.samples.map((s) => Object.values(s.labels).join(' ')).join('\n')
    expect(labelText).not.toMatch(new RegExp(`${id}|wp-admin|nope`))
  })

  it('a shed request is a 503 of its route and moves the shed counter; probes and /metrics are never shed', async () => {
    const { url, scrape } = await listening({
      PRESSURE_MAX_HEAP_USED_BYTES: '1',
      PRESSURE_SAMPLE_INTERVAL_MS: '100',
    })
    // Two samples: the first can still include the event-loop delay of start-up itself.
    await sleep(250)
    const before = await scrape()
    expect(before.value('service_under_pressure')).toBe(1)

    expect((await fetch(`${url}/v1/notes`)).status).toBe(503)
    expect((await fetch(`${url}/health/live`)).status).toBe(200)

    const after = await scrape()
    expect(after.value('service_shed_requests_total') - before.value('service_shed_requests_total')).toBe(1)
    expect(after.value(COUNT, { route: '/v1/notes', status_code: '503' })).toBe(1)
    expect(after.value(COUNT, { route: '/health/live', status_code: '200' })).toBe(1)
  })
})

describe('pool metrics', () => {
  it('with DATABASE_POOL_MAX=1 and the connection held by a blocked PATCH, the next request waits and shows', async () => {
    const { url, scrape } = await listening({
      DATABASE_POOL_MAX: '1',
      DATABASE_CONNECT_TIMEOUT_MS: '20000',
      DATABASE_STATEMENT_TIMEOUT_MS: '30000',
    })
    const id = await createNote(url, 'contended')
    const idle = await scrape()
    expect(idle.value('db_pool_max_connections')).toBe(1)
    expect(idle.value('db_pool_connections')).toBe(1)
    expect(idle.value('db_pool_idle_connections')).toBe(1)
    expect(idle.value('db_pool_waiting_requests')).toBe(0)

    const lock = await lockNote(database.url, id)
    const patch = fetch(`${url}/v1/notes/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'patched' }),
    })
    // The PATCH holds the only connection, blocked on the row lock; the list waits for the pool.
    let busy = await scrape()
    for (let i = 0; i < 100 && busy.value('db_pool_idle_connections') > 0; i++) {
      await sleep(20)
      busy = await scrape()
    }
    const list = fetch(`${url}/v1/notes`)
    let waiting = await scrape()
    for (let i = 0; i < 100 && waiting.value('db_pool_waiting_requests') < 1; i++) {
      await sleep(20)
      waiting = await scrape()
    }
    expect(waiting.value('db_pool_waiting_requests')).toBeGreaterThanOrEqual(1)
    expect(waiting.value('db_pool_idle_connections')).toBe(0)
    expect(waiting.value('db_pool_connections')).toBe(1)
    expect(waiting.value('http_server_active_requests')).toBe(2)

    await lock.release()
    expect((await patch).status).toBe(200)
    expect((await list).status).toBe(200)
    const after = await scrape()
    expect(after.value('db_pool_waiting_requests')).toBe(0)
    expect(after.value('db_pool_idle_connections')).toBe(1)
    expect(after.value('http_server_active_requests')).toBe(0)
  })
})

describe('state and lifecycle', () => {
  it('readiness checks and the shutdown state flip on beginShutdown(); build info names the service', async () => {
    const { app, url, scrape } = await listening({ SERVICE_VERSION: '9.9.9' })
    expect((await fetch(`${url}/health/ready`)).status).toBe(200)
    const ready = await scrape()
    expect(ready.value('service_ready')).toBe(1)
    expect(ready.value('service_readiness_check', { check: 'database' })).toBe(1)
    expect(ready.value('service_readiness_check', { check: 'migrations' })).toBe(1)
    expect(ready.value('service_shutting_down')).toBe(0)
    expect(ready.value('service_build_info', { service: 'api', version: '9.9.9' })).toBe(1)

    app.lifecycle.beginShutdown()
    const draining = await scrape()
    expect(draining.value('service_ready')).toBe(0)
    expect(draining.value('service_shutting_down')).toBe(1)
    expect((await fetch(`${url}/health/ready`)).status).toBe(503)
    expect((await scrape()).value('service_readiness_check', { check: 'shutdown' })).toBe(0)
  })

  it('the metrics port closes with the app', async () => {
    const { app, metricsPort } = await listening()
    await app.close()
    const refused = await new Promise<boolean>((resolve) => {
      http
        .get({ host: '127.0.0.1', port: metricsPort, path: '/metrics', agent: false }, (res) => {
          res.resume()
          resolve(false)
        })
        .on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'))
    })
    expect(refused).toBe(true)
  })
})

describe('the alert rules and the dashboard', () => {
  it('query only series the API exposes', async () => {
    const { url, scrape } = await listening()
    await createNote(url, 'for the histogram')
    expect((await fetch(`${url}/health/ready`)).status).toBe(200)
    const exposed = new Set((await scrape()).samples.map((s) => s.name))

    const files = ['alerts.yml', 'grafana/dashboard.json']
    const used = new Set<string>()
    for (const file of files) {
      const text = readFileSync(new URL(`../../../deploy/observability/${file}`, import.meta.url), 'utf8')
      for (const [name] of text.matchAll(/\b(?:http_server|service|db_pool|nodejs|process)_[a-z0-9_]+\b/g)) {
        used.add(name)
      }
    }
    expect(used.size).toBeGreaterThan(15)
    expect([...used].filter((name) => !exposed.has(name)).sort()).toEqual([])
  })
})
