import { monitorEventLoopDelay } from 'node:perf_hooks'

// under-pressure's own resolution, so that the two read alike.
const RESOLUTION_MS = 10

/**
 * The event loop's mean delay between two reads. under-pressure resets its histogram at every
 * sample, and Node's reset forgets the previous tick too: a stall that begins just after a sample
 * is lost, or, when it fills the window, leaves the window without a sample, which under-pressure
 * reads as an infinite delay (the soak's shed 503s: "value": null). This histogram is never reset:
 * a read takes the difference of its running totals, and a window without a tick was one stall as
 * long as the window.
 */
export function loopDelay() {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  histogram.enable()
  let count = 0
  let sum = 0
  let at = performance.now()
  return {
    /** Milliseconds beyond the resolution, averaged over the ticks since the last read. */
    read(now = performance.now()): number {
      const c = histogram.count
      const s = histogram.mean * c
      const ms = c > count ? (s - sum) / (c - count) / 1e6 - RESOLUTION_MS : now - at
      count = c
      sum = s
      at = now
      return Math.max(0, ms)
    },
    close() {
      histogram.disable()
    },
  }
}
