import { type Response, request } from './http.js'
import type { ServerProcess } from './server-process.js'

export interface WaitOptions {
  /** A bound for a hang, not a speed limit: a loaded machine can take tens of seconds (default 120 s). */
  timeoutMs?: number
  /** Between attempts (default 100 ms; the bench's start-up figure uses 5). */
  intervalMs?: number
  /** Give up at once, with its stderr, when this process exits first. */
  server?: ServerProcess
  /** Sent with every attempt (an Authorization header). */
  headers?: Record<string, string>
}

/**
 * Resolves with the first response of `url` whose status is `status`; a refused connection or another
 * status is retried. Each attempt opens its own connection (no keep-alive), as a probe does.
 */
export async function waitForStatus(
  url: string,
  status: number,
  options: WaitOptions = {},
): Promise<Response> {
  const { timeoutMs = 120_000, intervalMs = 100, server, headers } = options
  const deadline = performance.now() + timeoutMs
  let last = 'no answer'
  for (;;) {
    if (server && (server.child.exitCode !== null || server.child.signalCode !== null)) {
      throw new Error(
        `${url}: the server exited (${server.child.exitCode ?? server.child.signalCode}) before answering ${status}: ${server.stderr().slice(-2000)}`,
      )
    }
    try {
      const res = await request(url, {
        agent: false,
        timeoutMs: Math.min(10_000, timeoutMs),
        ...(headers ? { headers } : {}),
      })
      if (res.status === status) return res
      last = `${res.status} ${res.body.slice(0, 300)}`
    } catch (error) {
      last = (error as Error).message
    }
    if (performance.now() > deadline)
      throw new Error(`${url}: no ${status} within ${timeoutMs} ms (last: ${last})`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
