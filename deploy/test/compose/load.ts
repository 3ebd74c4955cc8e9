import { Agent, request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'

// An open-loop load through the proxy for the rollout end-to-end test: requests are sent on a fixed
// schedule whatever the answers take (a closed loop would slow down exactly when the service
// does, and hide the failures), a mix of reads and writes, each answer counted.

export interface LoadTarget {
  /** http://127.0.0.1:<port> or https://127.0.0.1:<port>: the proxy's published port, never a container's. */
  base: string
  /** The Host of the service's router. */
  host: string
  /** Sent as `Authorization: Bearer <token>` (the stack's services verify one). */
  token?: string
}

export interface Sample {
  /** ms since the load started */
  at: number
  ms: number
  status: number
  version: string | undefined
  /** The socket error, when there was no answer. */
  error?: string
  write: boolean
  body?: string
}

export interface Load {
  /** Stops sending and waits for every answer. */
  stop: () => Promise<Sample[]>
  samples: Sample[]
  /** ms since the load started */
  now: () => number
}

export function startLoad(target: LoadTarget, ratePerSecond: number, writeEvery = 4): Load {
  const url = new URL(target.base)
  const https = url.protocol === 'https:'
  const agent = https
    ? new HttpsAgent({ keepAlive: true, maxSockets: 128, rejectUnauthorized: false })
    : new Agent({ keepAlive: true, maxSockets: 128 })
  const samples: Sample[] = []
  const pending = new Set<Promise<void>>()
  const t0 = performance.now()
  const now = () => performance.now() - t0
  let sent = 0
  let stopped = false

  const one = (write: boolean) =>
    new Promise<void>((resolve) => {
      const started = now()
      const body = write ? JSON.stringify({ title: `load ${sent}` }) : undefined
      const done = (s: Omit<Sample, 'at' | 'ms' | 'write'>) => {
        samples.push({ at: started, ms: now() - started, write, ...s })
        resolve()
      }
      const req = (https ? httpsRequest : httpRequest)(
        {
          host: url.hostname,
          port: url.port,
          method: write ? 'POST' : 'GET',
          path: write ? '/v1/notes' : '/v1/notes?limit=5',
          agent,
          headers: {
            host: target.host,
            ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          ...(https ? { servername: target.host } : {}),
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const v = res.headers['x-service-version']
            const status = res.statusCode ?? 0
            done({
              status,
              version: typeof v === 'string' ? v : undefined,
              // Kept for the failures only, and for one write per version (the new field).
              ...(status < 200 || status >= 300 || write
                ? { body: Buffer.concat(chunks).toString('utf8').slice(0, 500) }
                : {}),
            })
          })
          res.on('error', (e) => done({ status: 0, version: undefined, error: e.message }))
        },
      )
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.on('error', (e) =>
        done({ status: 0, version: undefined, error: (e as NodeJS.ErrnoException).code ?? e.message }),
      )
      req.end(body)
    })

  // Each tick sends what the schedule owes by now: a late timer (a busy event loop) catches up
  // instead of lowering the rate.
  const timer = setInterval(() => {
    const due = Math.floor((now() / 1000) * ratePerSecond)
    while (!stopped && sent < due) {
      sent++
      const p = one(sent % writeEvery === 0)
      pending.add(p)
      void p.then(() => pending.delete(p))
    }
  }, 5)

  return {
    samples,
    now,
    stop: async () => {
      stopped = true
      clearInterval(timer)
      await Promise.all(pending)
      agent.destroy()
      return samples
    },
  }
}

export interface Summary {
  requests: number
  ok: number
  non2xx: number
  socketErrors: number
  versions: Record<string, number>
  p50: number
  p99: number
  max: number
}

export function summarize(samples: Sample[]): Summary {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b)
  const q = (p: number) =>
    sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number) : 0
  const versions: Record<string, number> = {}
  for (const s of samples) {
    const v = s.version ?? (s.status ? 'none' : 'no answer')
    versions[v] = (versions[v] ?? 0) + 1
  }
  return {
    requests: samples.length,
    ok: samples.filter((s) => s.status >= 200 && s.status < 300).length,
    non2xx: samples.filter((s) => s.status !== 0 && (s.status < 200 || s.status >= 300)).length,
    socketErrors: samples.filter((s) => s.status === 0).length,
    versions,
    p50: Math.round(q(0.5)),
    p99: Math.round(q(0.99)),
    max: Math.round(sorted.at(-1) ?? 0),
  }
}
