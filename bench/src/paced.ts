import http from 'node:http'
import { parentPort, workerData } from 'node:worker_threads'
import type { LoadResult } from './load.js'
import { summarize } from './stats.js'

// The even open-loop load of pacedLoad (load.ts), run in a worker thread of its own: a fresh V8
// heap, so that the load generator's own garbage collection (the bench's main thread holds every
// earlier run's figures; its scavenges took up to 47 ms there) is not charged to the server as
// latency. Everything it needs comes as plain data.

export interface PacedJob {
  origin: string
  method: 'GET' | 'POST'
  /** One path per request, used in turn. */
  paths: string[]
  body?: string
  rate: number
  connections: number
  durationS: number
  warmupS?: number
}

async function runPaced(options: PacedJob): Promise<LoadResult & { sentRate: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections })
  const latencies: number[] = []
  const statusCodes: Record<string, number> = {}
  let socketErrors = 0
  let inflight = 0
  let sent = 0
  const interval = 1000 / options.rate
  const started = performance.now()
  const end = started + options.durationS * 1000

  const send = (due: number) => {
    inflight++
    const path = options.paths[sent % options.paths.length] as string
    const req = http.request(
      `${options.origin}${path}`,
      {
        method: options.method,
        agent,
        headers: options.body === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume()
        res.on('end', () => {
          inflight--
          latencies.push(performance.now() - due)
          const code = String(res.statusCode)
          statusCodes[code] = (statusCodes[code] ?? 0) + 1
        })
      },
    )
    req.on('error', () => {
      inflight--
      socketErrors++
    })
    req.end(options.body)
  }

  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now()
      const dueNow = Math.floor((Math.min(now, end) - started) / interval)
      while (sent < dueNow) send(started + sent++ * interval)
      if (now < end) setTimeout(tick, 1)
      else resolve()
    }
    tick()
  })
  while (inflight > 0) await new Promise((r) => setTimeout(r, 5))
  agent.destroy()
  const seconds = (performance.now() - started) / 1000
  const total = Object.values(statusCodes).reduce((a, b) => a + b, 0)
  const non2xx = Object.entries(statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .reduce((a, [, n]) => a + n, 0)
  return {
    requests: total,
    rps: total / options.durationS,
    sentRate: sent / options.durationS,
    non2xx,
    socketErrors,
    statusCodes,
    seconds,
    ...summarize(latencies),
  }
}

if (parentPort && workerData) {
  const job = workerData as PacedJob
  if (job.warmupS) await runPaced({ ...job, durationS: job.warmupS })
  parentPort.postMessage(await runPaced(job))
}
