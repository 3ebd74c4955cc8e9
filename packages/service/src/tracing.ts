import { subscribe } from 'node:diagnostics_channel'
import type { IncomingMessage } from 'node:http'
import { context, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { getRPCMetadata, RPCType, W3CTraceContextPropagator } from '@opentelemetry/core'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace'
import type { FastifyInstance } from 'fastify'
import pTimeout from 'p-timeout'

// Imported only when OTEL_EXPORTER_OTLP_ENDPOINT is set (run.ts), and before anything imports
// `http` or `pg`: the instrumentations patch those modules as they are loaded. Both are CommonJS
// underneath (Fastify requires `node:http`; pg's ESM entry requires its CommonJS build), so
// require-in-the-middle sees them without an ESM loader hook.

export interface TracingSettings {
  serviceName: string
  version: string
  /** OTLP/HTTP base URL; spans go to `<endpoint>/v1/traces`. */
  endpoint: string
  /** OTEL_EXPORTER_OTLP_HEADERS: `key=value,key2=value2`. */
  headers?: string | undefined
  /** Share of new traces recorded (0-1); a sampled parent is always followed. */
  ratio: number
  /** Local ports whose requests are never traced (the metrics listener). */
  ignorePorts?: number[]
  /** Tests: export each span at once to this exporter instead of batching to `endpoint`. */
  exporter?: SpanExporter
}

export interface Tracing {
  /** pino `mixin`: the trace and span id of whatever is active when a line is logged. */
  logFields(): { trace_id?: string; span_id?: string }
  /** Exports what is still buffered, within FLUSH_TIMEOUT_MS. */
  shutdown(): Promise<void>
}

// Spent after the drain, inside the same terminationGracePeriodSeconds, and after a second signal that
// asked for an exit at once: a short last try, not a guarantee.
const FLUSH_TIMEOUT_MS = 1000

export function startTracing(settings: TracingSettings): Tracing {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  // W3C trace context only: baggage would carry caller-chosen data into every downstream call.
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())

  const exporter =
    settings.exporter ??
    new OTLPTraceExporter({
      url: `${settings.endpoint.replace(/\/+$/, '')}/v1/traces`,
      headers: parseHeaders(settings.headers),
    })
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': settings.serviceName,
      'service.version': settings.version,
    }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(settings.ratio) }),
    spanProcessors: [
      settings.exporter ? new SimpleSpanProcessor({ exporter }) : new BatchSpanProcessor({ exporter }),
    ],
  })
  trace.setGlobalTracerProvider(provider)

  const ignorePorts = new Set(settings.ignorePorts ?? [])
  new HttpInstrumentation({
    // Probes every few seconds per replica and Prometheus' scrapes would drown the real traffic.
    ignoreIncomingRequestHook: (req: IncomingMessage) =>
      ignorePorts.has(req.socket.localPort ?? 0) || (req.url ?? '').startsWith('/health/'),
  })
  // No parent, no span: the pool's own pings and idle reconnects are not worth a trace each.
  new PgInstrumentation({ requireParentSpan: true })

  nameServerSpansByRoute()

  return {
    logFields() {
      const span = trace.getActiveSpan()
      if (!span) return {}
      const { traceId, spanId } = span.spanContext()
      return { trace_id: traceId, span_id: spanId }
    },
    async shutdown() {
      // `message: false`: past the timeout it resolves; what is not exported by then is lost.
      await pTimeout(provider.shutdown(), { milliseconds: FLUSH_TIMEOUT_MS, message: false })
    },
  }
}

/**
 * The HTTP instrumentation names a server span after the method only ("GET"): it cannot know routes.
 * Every Fastify instance announces itself on this diagnostics channel as it is created; a hook then
 * hands the route template to the instrumentation, which names the span "GET /v1/notes/:id" and sets
 * http.route.
 */
function nameServerSpansByRoute() {
  subscribe('fastify.initialization', (message) => {
    const { fastify } = message as { fastify: FastifyInstance }
    fastify.addHook('onRequest', async (req) => {
      const rpc = getRPCMetadata(context.active())
      const route = req.routeOptions.url
      if (rpc?.type === RPCType.HTTP && route) rpc.route = route
    })
  })
}

function parseHeaders(value: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const pair of value?.split(',') ?? []) {
    const at = pair.indexOf('=')
    if (at > 0)
      headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim())
  }
  return headers
}
