import { once } from 'node:events'
import { Worker } from 'node:worker_threads'
import autocannon from 'autocannon'
import type { PacedJob } from './paced.js'
import { type Latency, summarize } from './stats.js'

export interface LoadResult extends Latency {
  requests: number
  /** Completed requests per second over the measured run. */
  rps: number
  non2xx: number
  /** Socket errors and timeouts. */
  socketErrors: number
  statusCodes: Record<string, number>
  seconds: number
}

export interface Request {
  method?: 'GET' | 'POST'
  /** Fixed path, or a function giving each request's path. */
  path: string | (() => string)
  body?: string
  /** Sent with every request (an Authorization header). */
  headers?: Record<string, string>
}

export interface ClosedLoopOptions {
  /** http://host:port */
  origin: string
  request: Request
  connections: number
  durationS: number
  warmupS?: number
  /** autocannon's own rate limit (requests/s over all connections); see pacedLoad for an even one. */
  overallRate?: number
  /** Called when the measured run (after the warm-up) starts. */
  onMeasureStart?: () => void
}

/**
 * autocannon: `connections` keep-alive connections, each sending its next request as soon as the
 * previous answer arrives. Latencies are taken from autocannon's per-response event, in fractional
 * milliseconds (its own histogram keeps whole milliseconds).
 */
export async function closedLoad(options: ClosedLoopOptions): Promise<LoadResult> {
  if (options.warmupS) await runAutocannon({ ...options, durationS: options.warmupS })
  options.onMeasureStart?.()
  return runAutocannon(options)
}

/** autocannon as an event emitter (to watch each response) with a promise of its result. */
export function startAutocannon(options: autocannon.Options) {
  let settle: { resolve: (r: autocannon.Result) => void; reject: (e: Error) => void } | undefined
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    settle = { resolve, reject }
  })
  const instance = autocannon(options, (err: Error | null, result) => {
    if (err) settle?.reject(err)
    else settle?.resolve(result)
  })
  return { instance, finished }
}

async function runAutocannon(options: ClosedLoopOptions): Promise<LoadResult> {
  const { request } = options
  const path = request.path
  const latencies: number[] = []
  const { instance, finished } = startAutocannon({
    url: `${options.origin}${typeof path === 'string' ? path : '/'}`,
    connections: options.connections,
    duration: options.durationS,
    method: request.method ?? 'GET',
    ...(request.body === undefined ? {} : { body: request.body }),
    headers: {
      ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...request.headers,
    },
    ...(typeof path === 'function'
      ? { requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, path: path() }) }] }
      : {}),
    ...(options.overallRate ? { overallRate: Math.max(1, Math.round(options.overallRate)) } : {}),
  })
  instance.on('response', (_client, _status, _bytes, responseTime) => {
    latencies.push(responseTime)
  })
  const result = await finished
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats ?? {}).map(([code, s]) => [
      code,
      Number((s as { count: number }).count),
    ]),
  )
  const total = Object.values(statusCodes).reduce((a, b) => a + b, 0)
  return {
    requests: total,
    rps: total / result.duration,
    non2xx: result.non2xx,
    socketErrors: result.errors,
    statusCodes,
    seconds: result.duration,
    ...summarize(latencies),
  }
}

export interface PacedOptions {
  origin: string
  request: Request
  /** Requests per second, sent at even intervals whatever the answers do (open loop). */
  rate: number
  /** Keep-alive connections at most; a request waits for a free one and that wait counts. */
  connections: number
  durationS: number
  warmupS?: number
}

/**
 * An open-loop, constant-rate load (as wrk2 does it): request i is due at start + i/rate, and its
 * latency is measured from when it was due, so a stall is charged to every request it delayed
 * (no coordinated omission). autocannon's `overallRate` is not even: each connection sends its
 * per-second quota back to back and then waits for the next second. Runs in a worker thread.
 */
export async function pacedLoad(options: PacedOptions): Promise<LoadResult & { sentRate: number }> {
  const { request, ...rest } = options
  const count = Math.ceil(options.rate * (options.durationS + (options.warmupS ?? 0))) + 1
  const job: PacedJob = {
    ...rest,
    method: request.method ?? 'GET',
    paths: typeof request.path === 'string' ? [request.path] : Array.from({ length: count }, request.path),
    ...(request.body === undefined ? {} : { body: request.body }),
  }
  // In a thread of its own (see paced.ts).
  const worker = new Worker(new URL('./paced.js', import.meta.url), { workerData: job })
  try {
    const [result] = (await once(worker, 'message')) as [LoadResult & { sentRate: number }]
    return result
  } finally {
    await worker.terminate()
  }
}
