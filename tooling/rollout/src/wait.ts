import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Container, inspect } from './compose.ts'
import { RolloutError } from './errors.ts'

export const VERSION_HEADER = 'x-service-version'
const POLL_MS = 500

/** A stop reason from the deadline or from Ctrl-C, checked between polls. */
function check(deadline: number, signal: AbortSignal, what: string): void {
  if (signal.aborted)
    throw new RolloutError(`interrupted (${String(signal.reason)}) while waiting for ${what}`)
  if (performance.now() > deadline) throw new RolloutError(`deadline passed waiting for ${what}`)
}

/**
 * Every new container healthy by Docker's health check (the service's /health/ready probe). One
 * that exits or restarts fails the wait at once: it is not going to become ready.
 */
export async function waitHealthy(
  ids: string[],
  deadline: number,
  signal: AbortSignal,
): Promise<Container[]> {
  let last: Container[] = []
  for (;;) {
    last = await inspect(ids)
    const broken = last.find((c) => c.status === 'exited' || c.status === 'dead' || c.restarts > 0)
    if (broken) {
      throw new FailedReplica(
        `new replica ${broken.name} ${broken.status === 'running' ? 'restarted' : broken.status} (exit code ${broken.exitCode})`,
        broken,
      )
    }
    if (last.length === ids.length && last.every((c) => c.health === 'healthy')) return last
    try {
      check(deadline, signal, `${ids.length} new replica(s) to be healthy`)
    } catch (error) {
      const failing = last.find((c) => c.health !== 'healthy') ?? last[0]
      const states = last.map((c) => `${c.name}: ${c.health ?? c.status}`).join(', ')
      throw new FailedReplica(`${(error as Error).message} (${states})`, failing)
    }
    await sleep(POLL_MS)
  }
}

export class FailedReplica extends RolloutError {
  readonly container: Container | undefined
  constructor(message: string, container: Container | undefined) {
    super(message)
    this.container = container
  }
}

export interface Probe {
  status: number
  version: string | undefined
}

/** One request through the proxy, on a new connection (so the proxy balances it afresh). */
export function probe(url: string, host: string | undefined, timeoutMs = 3000): Promise<Probe> {
  return new Promise((resolve) => {
    const u = new URL(url)
    const options = {
      agent: false as const,
      timeout: timeoutMs,
      headers: host ? { host } : {},
      // The stack's own proxy on loopback: Traefik's default certificate in development. What is read
      // is one header of our own service; SNI carries the router's host, as strict SNI requires.
      ...(u.protocol === 'https:' ? { rejectUnauthorized: false, servername: host ?? u.hostname } : {}),
    }
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, options, (res) => {
      res.resume()
      const v = res.headers[VERSION_HEADER]
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, version: typeof v === 'string' ? v : undefined }),
      )
      res.on('error', () => resolve({ status: 0, version: undefined }))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', () => resolve({ status: 0, version: undefined }))
    req.end()
  })
}

/**
 * The proxy routes to the new replicas: of the last 4 x `replicas` answers through it, at least
 * 3/8 came from the new version with a 2xx. With the old and the new replicas both in rotation an
 * even balancer gives the new ones half; 3/8 is passed only when (nearly) all of them are in.
 * A proxy gives no per-replica view through its front door: Docker's health of each new replica
 * is checked first (waitHealthy), this checks the proxy has noticed them.
 */
export async function waitRouted(
  url: string,
  host: string | undefined,
  version: string,
  replicas: number,
  deadline: number,
  signal: AbortSignal,
): Promise<{ requests: number; fromNew: number }> {
  const window: boolean[] = []
  const size = 4 * replicas
  let requests = 0
  for (;;) {
    const p = await probe(url, host)
    requests++
    window.push(p.status >= 200 && p.status < 300 && p.version === version)
    if (window.length > size) window.shift()
    const fromNew = window.filter(Boolean).length
    if (window.length === size && fromNew * 8 >= size * 3) return { requests, fromNew }
    check(
      deadline,
      signal,
      `the proxy (${url}) to route to version ${version} (${fromNew} of the last ${window.length} answers)`,
    )
    await sleep(50)
  }
}
