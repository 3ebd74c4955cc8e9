import http from 'node:http'
import { Worker } from 'node:worker_threads'
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
  /**
   * Opens every connection first with a GET of this path (not recorded), and starts the load once
   * all are open: a proxy's upstream pool that is already there when the load comes.
   */
  openWith?: string
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
  let opened = 0
  let allOpen: () => void = () => {}
  const open = new Promise<void>((resolve) => {
    allOpen = resolve
  })
  const worker = async () => {
    if (options.openWith !== undefined) {
      // A failure here only means the load opens that connection itself.
      await request(`${options.origin}${options.openWith}`, {
        agent,
        timeoutMs: options.timeoutMs ?? 30_000,
      }).catch(() => undefined)
      if (++opened === options.connections) allOpen()
      await open
    }
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
  if (options.openWith === undefined) allOpen()
  return {
    outcomes,
    /** Resolves once every connection is open (at once without `openWith`). */
    open,
    /** Stops sending new requests; resolves when every request in flight has ended. */
    async stop() {
      sending = false
      await Promise.all(workers)
      agent.destroy()
      return outcomes
    },
  }
}

// The probe loop, in a thread of its own: a kubelet or a proxy is another process, so a probe's
// latency must not include the load generator's own event-loop lag (this thread sends thousands of
// requests a second). Plain JavaScript, so that the worker needs no TypeScript loader.
const PROBE_WORKER = `
const http = require('node:http')
const { parentPort, workerData } = require('node:worker_threads')
const { url, intervalMs, timeoutMs } = workerData
const now = () => performance.timeOrigin + performance.now()
let running = true
parentPort.on('message', () => { running = false })
function probe() {
  return new Promise((resolve) => {
    const at = now()
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume()
      res.on('end', () => resolve({ at, status: res.statusCode, ms: now() - at }))
      res.on('error', (err) => resolve({ at, ms: now() - at, error: err.message }))
    })
    req.on('timeout', () => req.destroy(new Error('no answer within ' + timeoutMs + ' ms')))
    req.on('error', (err) => resolve({ at, ms: now() - at, error: err.message }))
  })
}
;(async () => {
  while (running) {
    const result = await probe()
    parentPort.postMessage(result)
    await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - result.ms)))
  }
  parentPort.postMessage('done')
})()
`

export interface ProbeResult {
  /** performance.now() of this thread when the probe was sent. */
  at: number
  status?: number
  ms: number
  error?: string
}

/** Polls `url` every `intervalMs` on a fresh connection, as a probe does, until stopped. */
export function poll(url: string, options: { intervalMs: number; timeoutMs: number }) {
  const worker = new Worker(PROBE_WORKER, { eval: true, workerData: { url, ...options } })
  const results: ProbeResult[] = []
  const done = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: ProbeResult | 'done') => {
      if (message === 'done') resolve()
      // The worker's clock is wall time; this thread's performance.now() has another origin.
      else results.push({ ...message, at: message.at - performance.timeOrigin })
    })
    worker.once('error', reject)
  })
  return {
    /** Filled as probes answer. */
    results,
    async stop() {
      worker.postMessage('stop')
      await done
      await worker.terminate()
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
