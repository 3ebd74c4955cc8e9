import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { type ExpositionServer, listenExposition } from '../metrics/exposition.js'
import { processMetrics } from '../metrics/process-metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

export interface Metrics {
  /** This app's registry: a service adds its own metrics here (`registers: [app.metrics.registry]`). */
  readonly registry: Registry
  /** Where /metrics is served, once the app listens; undefined before, or when the port was taken. */
  address(): { host: string; port: number } | undefined
  /**
   * Settles once the metrics listener has opened (or failed to) after the app's listen(): Fastify runs
   * onListen hooks without waiting for them, so listen() may resolve first.
   */
  listening(): Promise<void>
}

export interface MetricsOptions {
  host: string
  port: number
  service: string
  version: string
}

/** The `route` label of a request no route matched: the raw URL would be a label value per scanner probe. */
export const UNMATCHED_ROUTE = 'unmatched'

// From 1 ms (a cached read) to the 30 s request timeout.
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/**
 * Prometheus metrics for every service, on a port of their own (see metrics/exposition.ts): requests
 * by route template, in-flight requests and connections, the pool, load shedding, readiness and
 * shutdown state, build info, and the process (metrics/process-metrics.ts). Values that already live
 * elsewhere (the pool's counts, the shed counter) are read when scraped, not duplicated.
 */
async function metrics(app: FastifyInstance, opts: MetricsOptions) {
  // Per app, not prom-client's global registry: several apps in one process (tests) must not collide.
  const registry = new Registry()
  const registers = [registry]

  const duration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Time from receiving the request to sending the response; _count is the request rate.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  })
  // Abandoned requests too, with status_code 499 (see lifecycle.ts).
  app.lifecycle.onRequestEnd(({ req, status, durationMs }) => {
    duration.observe(
      { method: req.method, route: req.routeOptions.url ?? UNMATCHED_ROUTE, status_code: status },
      durationMs / 1000,
    )
  })

  new Gauge({
    name: 'http_server_active_requests',
    help: 'Requests received and not yet answered.',
    registers,
    collect() {
      this.set(app.lifecycle.inflight().length)
    },
  })
  new Gauge({
    name: 'http_server_open_connections',
    help: 'Open client connections, idle keep-alive ones included.',
    registers,
    collect() {
      this.set(app.lifecycle.connections())
    },
  })

  // What readiness last answered, whoever asked (the kubelet, Traefik): a scrape must not run the
  // checks itself, or every scrape would take pool connections and show up in the pool's metrics.
  const ready = new Gauge({
    name: 'service_ready',
    help: 'What /health/ready last answered: 1 for 200, 0 for 503 (and 0 until first asked, and from SIGTERM on).',
    registers,
    collect() {
      if (app.lifecycle.shuttingDown) this.set(0)
    },
  })
  ready.set(0)
  const checks = new Gauge({
    name: 'service_readiness_check',
    help: 'Each readiness check as last run: 1 passing, 0 failing.',
    labelNames: ['check'] as const,
    registers,
  })
  const run = app.readiness.run.bind(app.readiness)
  app.readiness.run = async () => {
    const report = await run()
    ready.set(report.ready ? 1 : 0)
    for (const [check, result] of Object.entries(report.checks)) {
      checks.set({ check }, result.status === 'ok' ? 1 : 0)
    }
    return report
  }
  new Gauge({
    name: 'service_shutting_down',
    help: '1 from SIGTERM on: readiness answers 503 while in-flight requests drain.',
    registers,
    collect() {
      this.set(app.lifecycle.shuttingDown ? 1 : 0)
    },
  })
  new Gauge({
    name: 'service_build_info',
    help: 'Always 1; the labels say what runs.',
    labelNames: ['service', 'version', 'node_version'] as const,
    registers,
  }).set({ service: opts.service, version: opts.version, node_version: process.version }, 1)

  new Gauge({
    name: 'service_under_pressure',
    help: 'Whether load shedding is on now (1): /v1 routes answer 503 until the next sample is below the limits.',
    registers,
    collect() {
      this.set(app.isUnderPressure() ? 1 : 0)
    },
  })
  new Counter({
    name: 'service_shed_requests_total',
    help: 'Requests answered 503 by load shedding.',
    registers,
    collect() {
      this.reset()
      this.inc(app.pressure.shed)
    },
  })
  new Gauge({
    name: 'service_pressure_event_loop_delay_seconds',
    help: 'Event-loop delay over the last pressure sample, as shedding judges it.',
    registers,
    collect() {
      this.set(app.pressure.eventLoopDelayMs / 1000)
    },
  })

  // The database plugin registers after this one, when at all.
  app.addHook('onReady', async () => {
    if (!app.hasDecorator('database')) return
    const pool = app.database.pool
    new Gauge({
      name: 'db_pool_connections',
      help: 'Connections the pool holds, idle or checked out.',
      registers,
      collect() {
        this.set(pool.totalCount)
      },
    })
    new Gauge({
      name: 'db_pool_idle_connections',
      help: 'Connections in the pool waiting for a query.',
      registers,
      collect() {
        this.set(pool.idleCount)
      },
    })
    new Gauge({
      name: 'db_pool_waiting_requests',
      help: 'Queries waiting for a connection because all are checked out; above 0 for long: the pool is too small or queries too slow.',
      registers,
      collect() {
        this.set(pool.waitingCount)
      },
    })
    new Gauge({
      name: 'db_pool_max_connections',
      help: 'The pool size (DATABASE_POOL_MAX).',
      registers,
    }).set(pool.options.max ?? 10)
  })

  const render = async () => {
    // Merged per scrape, so metrics a service adds after start-up are included.
    const all = Registry.merge([processMetrics(), registry])
    return { contentType: all.contentType, body: await all.metrics() }
  }

  let server: ExpositionServer | undefined
  const opened = Promise.withResolvers<void>()
  app.decorate('metrics', {
    registry,
    address: () => (server ? { host: opts.host, port: server.address().port } : undefined),
    listening: () => opened.promise,
  } satisfies Metrics)

  app.addHook('onListen', async () => {
    try {
      server = await listenExposition({ host: opts.host, port: opts.port, log: app.log }, render)
      app.log.info({ address: `http://${opts.host}:${server.address().port}/metrics` }, 'metrics listening')
    } catch (err) {
      // Unobserved beats down: the replica keeps serving and Prometheus reports the target as down.
      app.log.error({ err }, `metrics cannot listen on ${opts.host}:${opts.port}; not served`)
    } finally {
      opened.resolve()
    }
  })
  app.addHook('onClose', async () => {
    await server?.close()
    registry.clear()
  })
}

export default fp(metrics, {
  name: 'metrics',
  fastify: '5.x',
  dependencies: ['lifecycle', 'readiness', 'pressure'],
})
