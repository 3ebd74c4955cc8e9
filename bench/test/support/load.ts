import http from 'node:http'
import { type Response, request } from './server.js'

export interface Call {
  kind: string
  method?: string
  path: string
  body?: unknown
}

export interface Outcome {
  kind: string
  /** performance.now() when the request was sent and when it ended. */
  sent: number
  ended: number
  status?: number
  headers?: http.IncomingHttpHeaders
  /** Kept for non-2xx answers only. */
  body?: string
  error?: string
}

/**
 * Closed-loop keep-alive load, as a proxy's upstream pool sends it: `connections` workers, each
 * sending its next request when the previous one is answered, over one shared keep-alive agent.
 */
export function keepAliveLoad(options: {
  origin: string
  connections: number
  next: () => Call
  timeoutMs?: number
}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections })
  const outcomes: Outcome[] = []
  let sending = true
  const record = (call: Call, sent: number, res?: Response, error?: Error) => {
    const ok = res !== undefined && res.status >= 200 && res.status < 300
    outcomes.push({
      kind: call.kind,
      sent,
      ended: performance.now(),
      ...(res ? { status: res.status, headers: res.headers } : {}),
      ...(res && !ok ? { body: res.body } : {}),
      ...(error ? { error: error.message } : {}),
    })
  }
  const worker = async () => {
    while (sending) {
      const call = options.next()
      const sent = performance.now()
      try {
        const res = await request(`${options.origin}${call.path}`, {
          method: call.method ?? 'GET',
          body: call.body,
          agent,
          timeoutMs: options.timeoutMs ?? 30_000,
        })
        record(call, sent, res)
      } catch (err) {
        record(call, sent, undefined, err as Error)
      }
    }
  }
  const workers = Array.from({ length: options.connections }, worker)
  return {
    outcomes,
    /** Stops sending new requests; resolves when every request in flight has ended. */
    async stop() {
      sending = false
      await Promise.all(workers)
      agent.destroy()
      return outcomes
    },
  }
}

/** Polls `url` every `intervalMs` on a fresh connection, as a probe does, until stopped. */
export function poll(url: string, options: { intervalMs: number; timeoutMs: number }) {
  const results: { at: number; status?: number; ms: number; error?: string }[] = []
  let running = true
  const loop = (async () => {
    while (running) {
      const at = performance.now()
      try {
        const res = await request(url, { agent: false, timeoutMs: options.timeoutMs })
        results.push({ at, status: res.status, ms: performance.now() - at })
      } catch (err) {
        results.push({ at, ms: performance.now() - at, error: (err as Error).message })
      }
      await new Promise((r) => setTimeout(r, Math.max(0, options.intervalMs - (performance.now() - at))))
    }
  })()
  return {
    results,
    async stop() {
      running = false
      await loop
      return results
    },
  }
}

export function countBy<T>(items: T[], key: (t: T) => string): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1
  return counts
}

export const outcomeKey = (o: Outcome) => (o.error ? `error: ${o.error}` : String(o.status))
