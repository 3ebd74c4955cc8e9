import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import type { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace'
import type { Tracing } from '@stack/service/tracing'
import type { TestDatabase } from '@stack/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Tracing patches `http` and `pg` as they are loaded, so nothing that loads either (Fastify, pg, the
// app, the test harness) is imported at the top of this file: beforeAll starts tracing first, as
// server.ts does, and imports the rest after it.

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c'
const PARENT_SPAN_ID = 'b7ad6b7169203331'
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`

let tracing: Tracing
let exporter: InMemorySpanExporter
let database: TestDatabase
let helpers: typeof import('./helpers.js')
let testing: typeof import('@stack/testing')

beforeAll(async () => {
  const sdk = await import('@opentelemetry/sdk-trace')
  exporter = new sdk.InMemorySpanExporter()
  const { startTracing } = await import('@stack/service/tracing')
  tracing = startTracing({
    serviceName: 'api',
    version: 'test',
    endpoint: 'http://127.0.0.1:1',
    ratio: 1,
    exporter,
  })
  helpers = await import('./helpers.js')
  testing = await import('@stack/testing')
  database = await helpers.migratedDatabase()
})
afterAll(async () => {
  await database?.drop()
  await tracing?.shutdown()
})

/** The app on a real socket (the HTTP instrumentation sees real requests only), logging to memory. */
async function tracedApp(env: Record<string, string>) {
  const { pino } = await import('pino')
  const { loggerOptions } = await import('@stack/service')
  const { buildApp } = await import('../src/app.js')
  const lines: Record<string, unknown>[] = []
  const logger = pino(
    { ...loggerOptions({ level: 'info', service: 'api', version: 'test' }), mixin: tracing.logFields },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)))
        done()
      },
    }),
  )
  const app = await buildApp(helpers.testConfig({ METRICS_ENABLED: 'false', ...env }), { logger })
  app.get('/boom', async () => {
    throw new Error('a bug')
  })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url, lines }
}

async function spansOf(traceId: string, until: (spans: ReadableSpan[]) => boolean): Promise<ReadableSpan[]> {
  for (let i = 0; i < 100; i++) {
    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId)
    if (until(spans)) return spans
    await sleep(20)
  }
  throw new Error(`spans of ${traceId} never arrived: ${exporter.getFinishedSpans().map((s) => s.name)}`)
}

const SERVER = 1 // SpanKind.SERVER
const CLIENT = 2 // SpanKind.CLIENT

describe('traces (in-memory exporter)', () => {
  it('a request with traceparent: an HTTP server span named by route and a pg span, in the caller’s trace; its log lines carry the trace id', async () => {
    const { app, url, lines } = await tracedApp({ DATABASE_URL: database.url })
    try {
      const created = await fetch(`${url}/v1/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'traced' }),
      })
      const { id } = (await created.json()) as { id: string }

      const res = await fetch(`${url}/v1/notes/${id}`, { headers: { traceparent: TRACEPARENT } })
      expect(res.status).toBe(200)
      const requestId = res.headers.get('x-request-id')

      const spans = await spansOf(TRACE_ID, (s) => s.some((x) => x.kind === SERVER))
      const server = spans.find((s) => s.kind === SERVER)
      expect(server).toMatchObject({
        name: 'GET /v1/notes/:id',
        attributes: expect.objectContaining({
          'http.route': '/v1/notes/:id',
          'http.response.status_code': 200,
        }),
      })
      expect(server?.parentSpanContext?.spanId).toBe(PARENT_SPAN_ID)
      const query = spans.find((s) => s.kind === CLIENT && s.name.startsWith('pg.query'))
      expect(query?.attributes['db.system.name']).toBe('postgresql')
      expect(query?.attributes['db.query.text']).toMatch(/^select .* from "notes"/)
      // The pg span hangs off the request's server span, not off some other request's.
      expect(query?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId)
      expect(server?.resource.attributes['service.name']).toBe('api')

      const line = lines.find((l) => l.msg === 'request completed' && l.reqId === requestId)
      expect(line).toMatchObject({ trace_id: TRACE_ID, span_id: server?.spanContext().spanId })
      // The other request started a trace of its own.
      const other = lines.find((l) => l.msg === 'request completed' && l.reqId !== requestId)
      expect(other?.trace_id).toMatch(/^[0-9a-f]{32}$/)
      expect(other?.trace_id).not.toBe(TRACE_ID)
    } finally {
      await app.close()
    }
  })

  it('probes are not traced, and neither are the pool’s own queries outside a request', async () => {
    const { app, url } = await tracedApp({ DATABASE_URL: database.url })
    try {
      exporter.reset()
      expect((await fetch(`${url}/health/ready`, { headers: { traceparent: TRACEPARENT } })).status).toBe(200)
      await app.database.ping()
      await sleep(100)
      expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual([])
    } finally {
      await app.close()
    }
  })
})

describe('correlated logs', () => {
  it('the error paths log the request id and the trace id: "database unavailable" and "request failed"', async () => {
    const deadPort = await testing.freePort()
    const { app, url, lines } = await tracedApp({
      DATABASE_URL: `postgres://nobody:x@127.0.0.1:${deadPort}/none`,
      DATABASE_CONNECT_TIMEOUT_MS: '500',
    })
    try {
      const outage = await fetch(`${url}/v1/notes`, { headers: { traceparent: TRACEPARENT } })
      expect(outage.status).toBe(503)
      const bug = await fetch(`${url}/boom`, { headers: { traceparent: TRACEPARENT } })
      expect(bug.status).toBe(500)

      for (const [res, msg, level] of [
        [outage, 'database unavailable', 'warn'],
        [bug, 'request failed', 'error'],
      ] as const) {
        const requestId = res.headers.get('x-request-id')
        expect(requestId).toBeTruthy()
        const mine = lines.filter((l) => l.reqId === requestId)
        expect(mine.map((l) => l.msg)).toEqual([msg, 'request completed'])
        expect(mine[0]).toMatchObject({ level, reqId: requestId, trace_id: TRACE_ID })
        expect(mine[1]).toMatchObject({ trace_id: TRACE_ID })
      }
    } finally {
      await app.close()
    }
  })
})

describe('configuration', () => {
  it('names every bad OTEL_* variable; an unset endpoint leaves tracing off', async () => {
    expect(() =>
      helpers.testConfig({
        DATABASE_URL: database.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317',
        OTEL_EXPORTER_OTLP_HEADERS: 'just-a-token',
        OTEL_TRACES_SAMPLER_ARG: '1.5',
      }),
    ).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT .*OTEL_EXPORTER_OTLP_HEADERS .*OTEL_TRACES_SAMPLER_ARG/)
    const config = helpers.testConfig({
      DATABASE_URL: database.url,
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a,tenant=b',
    })
    expect(config.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined()
    expect(config.OTEL_TRACES_SAMPLER_ARG).toBe(1)
  })
})

describe('the real process (node dist/server.js)', () => {
  /** A preload that reports every @opentelemetry module the process resolves, on stderr. */
  function otelProbe(): string {
    const file = join(mkdtempSync(join(tmpdir(), 'otel-probe-')), 'probe.mjs')
    writeFileSync(
      file,
      `import { registerHooks } from 'node:module'
registerHooks({
  resolve(specifier, context, next) {
    const result = next(specifier, context)
    if (result.url.includes('/@opentelemetry/')) process.stderr.write('loaded ' + result.url + '\\n')
    return result
  },
})
`,
    )
    return `--import=${file}`
  }

  it('with OTEL_EXPORTER_OTLP_ENDPOINT: the request’s spans reach the collector at shutdown, with the caller’s trace id and our headers', async () => {
    const collector = await testing.otlpReceiver()
    const { startServer } = await import('./process.js')
    const server = await startServer({
      DATABASE_URL: database.url,
      METRICS_PORT: String(await testing.freePort()),
      SHUTDOWN_DELAY_MS: '0',
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: `${collector.url}/`,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=secret%20value',
      OTEL_SERVICE_NAME: 'api-under-test',
      NODE_OPTIONS: otelProbe(),
    })
    try {
      // fetch, not node:http: this process traces too, and its http client would put a traceparent of
      // its own on the request.
      const res = await fetch(`${server.url}/v1/notes?limit=1`, { headers: { traceparent: TRACEPARENT } })
      expect(res.status).toBe(200)
      server.child.kill('SIGTERM')
      expect((await server.exited).code).toBe(0)

      expect(server.stderr()).toMatch(/loaded .*\/@opentelemetry\/sdk-trace\//)
      expect(collector.posts.length).toBeGreaterThan(0)
      expect(collector.posts[0]).toMatchObject({
        path: '/v1/traces',
        headers: expect.objectContaining({ 'x-api-key': 'secret value' }),
      })
      const spans = collector.posts.flatMap((p) =>
        (JSON.parse(p.body) as OtlpTraces).resourceSpans.flatMap((r) =>
          r.scopeSpans.flatMap((s) => s.spans.map((span) => ({ ...span, resource: r.resource }))),
        ),
      )
      const traced = spans.filter((s) => s.traceId === TRACE_ID)
      expect(traced.map((s) => s.name)).toEqual(
        expect.arrayContaining(['GET /v1/notes', expect.stringMatching(/^pg\.query/)]),
      )
      expect(traced[0]?.resource.attributes).toContainEqual({
        key: 'service.name',
        value: { stringValue: 'api-under-test' },
      })
      const line = server.lines().find((l) => l.msg === 'request completed')
      expect(line).toMatchObject({ trace_id: TRACE_ID, reqId: res.headers.get('x-request-id') })
    } finally {
      server.child.kill('SIGKILL')
      await collector.close()
    }
  })

  it('without it: no OpenTelemetry SDK, exporter or instrumentation is even loaded, and log lines carry no trace id', async () => {
    const { startServer } = await import('./process.js')
    const server = await startServer({
      DATABASE_URL: database.url,
      METRICS_PORT: String(await testing.freePort()),
      SHUTDOWN_DELAY_MS: '0',
      LOG_LEVEL: 'info',
      NODE_OPTIONS: otelProbe(),
    })
    try {
      // fetch, not node:http: this process traces too, and its http client would put a traceparent of
      // its own on the request.
      const res = await fetch(`${server.url}/v1/notes?limit=1`, { headers: { traceparent: TRACEPARENT } })
      expect(res.status).toBe(200)
      server.child.kill('SIGTERM')
      expect((await server.exited).code).toBe(0)
      // Only the API, a no-op facade: prom-client's default CPU metrics require it (for exemplars).
      const loaded = server.stderr().match(/@opentelemetry\/[^/]+/g) ?? []
      expect(new Set(loaded)).toEqual(new Set(['@opentelemetry/api']))
      const line = server.lines().find((l) => l.msg === 'request completed')
      expect(line).toBeDefined()
      expect(line).not.toHaveProperty('trace_id')
    } finally {
      server.child.kill('SIGKILL')
    }
  })
})

interface OtlpTraces {
  resourceSpans: {
    resource: { attributes: { key: string; value: unknown }[] }
    scopeSpans: { spans: { traceId: string; name: string }[] }[]
  }[]
}
