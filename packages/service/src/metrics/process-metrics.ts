import { performance } from 'node:perf_hooks'
import { Counter, collectDefaultMetrics, Registry } from 'prom-client'

let registry: Registry | undefined

/**
 * prom-client's default metrics (CPU, RSS, heap, GC, event-loop delay, handles) plus event-loop
 * utilisation, in one registry per process. They describe the process, not an app, and each
 * collectDefaultMetrics() call starts an event-loop monitor and a GC observer that are never stopped:
 * created once, they are shared by every app of the process (tests build dozens).
 */
export function processMetrics(): Registry {
  if (registry) return registry
  registry = new Registry()
  collectDefaultMetrics({ register: registry })
  new Counter({
    name: 'nodejs_eventloop_active_seconds_total',
    help: 'Time the event loop spent doing work rather than waiting; rate() of it is the event-loop utilisation (0-1).',
    registers: [registry],
    // A counter rather than a gauge of the utilisation since the last scrape: every scraper and every
    // range window then gets the right figure.
    collect() {
      this.reset()
      this.inc(performance.eventLoopUtilization().active / 1000)
    },
  })
  return registry
}
