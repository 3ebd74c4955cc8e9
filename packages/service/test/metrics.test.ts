import http from 'node:http'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Env, loadConfig, metricsVars, pressureVars, serverVars } from '@stack/config'
import { freePort } from '@stack/testing'
import { pino } from 'pino'
import { Gauge } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { createService, type Service, UNMATCHED_ROUTE } from '../src/index.js'
import { parseMetrics, sampleValue, select } from './metrics-text.js'

const apps: Service[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

/** A service listening on a real socket, with a route that has a parameter, and its logs. */
async function service(env: Env = {}, routes: (app: Service) => void = () => {}) {
  const metricsPort = await freePort()
  const lines: Record<string, unknown>[] = []
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)))
        done()
      },
    }),
  )
  const config = loadConfig(
    { ...serverVars, ...pressureVars, ...metricsVars },
    { HOST: '127.0.0.1', METRICS_PORT: String(metricsPort), ...env },
  )
  const app = await createService(config, { name: 'svc', logger })
  apps.push(app)
  app.get('/items/:id', async (req) => ({ id: (req.params as { id: string }).id }))
  routes(app)
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  if (app.hasDecorator('metrics')) await app.metrics.listening()
  return { app, url, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, metricsPort, lines }
}

async function scrape(metricsUrl: string) {
  const res = await fetch(metricsUrl)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  return parseMetrics(await res.text())
}

function connectRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      res.resume()
      resolve(false)
    })
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'))
  })
}

const DURATION = 'http_server_request_duration_seconds'

describe('metrics', () => {
  it('counts requests by route template and status; unmatched URLs share one fixed label', async () => {
    const { url, metricsUrl } = await service()
    const before = await scrape(metricsUrl)
    expect(select(before, `${DURATION}_count`)).toEqual([])

    expect((await fetch(`${url}/items/42`)).status).toBe(200)
    expect((await fetch(`${url}/items/43`)).status).toBe(200)
    expect((await fetch(`${url}/no/such/path?token=abc`)).status).toBe(404)
    expect((await fetch(`${url}/another-probe`)).status).toBe(404)

    const after = await scrape(metricsUrl)
    expect(
      sampleValue(after, `${DURATION}_count`, { route: '/items/:id', status_code: '200', method: 'GET' }),
    ).toBe(2)
    expect(sampleValue(after, `${DURATION}_count`, { route: UNMATCHED_ROUTE, status_code: '404' })).toBe(2)
    // The histogram's buckets add up: every request is in +Inf, none of these local ones took 30 s.
    expect(sampleValue(after, `${DURATION}_bucket`, { route: '/items/:id', le: '+Inf' })).toBe(2)
    expect(sampleValue(after, `${DURATION}_sum`, { route: '/items/:id' })).toBeGreaterThan(0)
    const routes = new Set(select(after, `${DURATION}_count`).map((s) => s.labels.route))
    expect([...routes].sort()).toEqual(['/items/:id', UNMATCHED_ROUTE])
    // No raw URL anywhere in the exposition.
    for (const s of after)
      expect(Object.values(s.labels).join(' ')).not.toMatch(/42|no\/such|token|another-probe/)
  })

  it('exposes in-flight requests, build info, pressure state and the process', async () => {
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    const { url, metricsUrl } = await service({ SERVICE_VERSION: '1.2.3' }, (app) =>
      app.get('/slow', async () => {
        await held
        return { ok: true }
      }),
    )
    const slow = fetch(`${url}/slow`)
    await sleep(100)

    const during = await scrape(metricsUrl)
    expect(sampleValue(during, 'http_server_active_requests')).toBe(1)
    expect(sampleValue(during, 'http_server_open_connections')).toBeGreaterThanOrEqual(1)
    release()
    expect((await slow).status).toBe(200)
    const after = await scrape(metricsUrl)
    expect(sampleValue(after, 'http_server_active_requests')).toBe(0)

    expect(
      sampleValue(after, 'service_build_info', {
        service: 'svc',
        version: '1.2.3',
        node_version: process.version,
      }),
    ).toBe(1)
    expect(sampleValue(after, 'service_under_pressure')).toBe(0)
    expect(sampleValue(after, 'service_shed_requests_total')).toBe(0)
    expect(sampleValue(after, 'service_pressure_event_loop_delay_seconds')).toBeGreaterThanOrEqual(0)
    for (const name of [
      'process_resident_memory_bytes',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'process_cpu_seconds_total',
    ]) {
      expect(sampleValue(after, name), name).toBeGreaterThan(0)
    }
    // Utilisation as a counter: it only grows, and by no more than the wall-clock time in between.
    const busy1 = sampleValue(during, 'nodejs_eventloop_active_seconds_total') ?? Number.NaN
    const busy2 = sampleValue(after, 'nodejs_eventloop_active_seconds_total') ?? Number.NaN
    expect(busy2).toBeGreaterThan(busy1)
    // Without a database plugin there are no pool metrics at all.
    expect(after.some((s) => s.name.startsWith('db_pool_'))).toBe(false)
  })

  it('readiness gauges follow what readiness answered; shutdown flips them at once', async () => {
    const { app, url, metricsUrl } = await service()
    let healthy = true
    app.readiness.add('dependency', async () => {
      if (!healthy) throw new Error('down')
    })
    const probe = async () => (await fetch(`${url}/health/ready`)).status

    // Nobody has asked yet: not known to be ready. A scrape does not run the checks itself.
    const unasked = await scrape(metricsUrl)
    expect(sampleValue(unasked, 'service_ready')).toBe(0)
    expect(select(unasked, 'service_readiness_check')).toEqual([])

    expect(await probe()).toBe(200)
    const ready = await scrape(metricsUrl)
    expect(sampleValue(ready, 'service_ready')).toBe(1)
    expect(sampleValue(ready, 'service_readiness_check', { check: 'dependency' })).toBe(1)
    expect(sampleValue(ready, 'service_shutting_down')).toBe(0)

    healthy = false
    expect(await probe()).toBe(503)
    const failing = await scrape(metricsUrl)
    expect(sampleValue(failing, 'service_ready')).toBe(0)
    expect(sampleValue(failing, 'service_readiness_check', { check: 'dependency' })).toBe(0)

    healthy = true
    expect(await probe()).toBe(200)
    expect(sampleValue(await scrape(metricsUrl), 'service_ready')).toBe(1)
    app.lifecycle.beginShutdown()
    // No probe in between: the gauges say so at once, and metrics stay up through the drain.
    const draining = await scrape(metricsUrl)
    expect(sampleValue(draining, 'service_ready')).toBe(0)
    expect(sampleValue(draining, 'service_shutting_down')).toBe(1)
  })

  it('closes the metrics port with the app, without waiting for a scraper', async () => {
    const { app, metricsUrl, metricsPort } = await service()
    expect(app.metrics.address()).toEqual({ host: '127.0.0.1', port: metricsPort })
    // A scrape that would never finish, over a keep-alive connection as Prometheus holds one.
    new Gauge({
      name: 'test_stuck',
      help: 'never collected',
      registers: [app.metrics.registry],
      collect: () => new Promise(() => {}),
    })
    const agent = new http.Agent({ keepAlive: true })
    const stuck = new Promise<string>((resolve) => {
      http
        .get(metricsUrl, { agent }, (res) => res.resume().on('end', () => resolve('answered')))
        .on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
    })
    await sleep(100)

    const started = performance.now()
    await app.close()
    expect(performance.now() - started).toBeLessThan(1000)
    expect(await stuck).toBe('ECONNRESET')
    expect(await connectRefused(metricsPort)).toBe(true)
    agent.destroy()
  })

  it('a taken metrics port is logged, and the service still serves', async () => {
    const blocker = http.createServer()
    const port = await freePort()
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve))
    try {
      const { app, url, lines } = await service({ METRICS_PORT: String(port) })
      expect((await fetch(`${url}/items/1`)).status).toBe(200)
      expect(app.metrics.address()).toBeUndefined()
      expect(lines).toContainEqual(
        expect.objectContaining({ level: 50, msg: `metrics cannot listen on 127.0.0.1:${port}; not served` }),
      )
    } finally {
      blocker.close()
    }
  })

  it('two apps in one process keep their own registries', async () => {
    const one = await service()
    const two = await service()
    await fetch(`${one.url}/items/1`)
    await fetch(`${one.url}/items/2`)
    await fetch(`${two.url}/items/3`)
    expect(sampleValue(await scrape(one.metricsUrl), `${DURATION}_count`, { route: '/items/:id' })).toBe(2)
    expect(sampleValue(await scrape(two.metricsUrl), `${DURATION}_count`, { route: '/items/:id' })).toBe(1)
  })

  it('METRICS_ENABLED=false: no metrics, no port', async () => {
    const { app, metricsPort, url } = await service({ METRICS_ENABLED: 'false' })
    expect(app.hasDecorator('metrics')).toBe(false)
    expect((await fetch(`${url}/items/1`)).status).toBe(200)
    expect(await connectRefused(metricsPort)).toBe(true)
  })

  it('answers 404 for anything but GET /metrics', async () => {
    const { metricsUrl } = await service()
    expect((await fetch(metricsUrl.replace('/metrics', '/'))).status).toBe(404)
    expect((await fetch(metricsUrl, { method: 'POST' })).status).toBe(404)
  })
})
