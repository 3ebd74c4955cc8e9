/**
 * A condition that counts only once it has held at every sample for `forMs`: event-loop delay and
 * utilisation are measured over one sample interval, so a single window spikes on things that
 * are no overload (a major GC, the process descheduled for a second on a shared core, the
 * start-up's first window, which has no delay sample at all and reads as an infinite delay).
 * Shedding on one such window refused a second of requests on a server at a fifth of its
 * capacity. One sample under the threshold resets it. `now` is the sample's time in ms.
 */
export function sustained(forMs: number) {
  let since: number | undefined
  return {
    /** Takes one sample; true while the condition has held since at least `forMs` ago. */
    update(over: boolean, now: number): boolean {
      if (!over) {
        since = undefined
        return false
      }
      since ??= now
      return now - since >= forMs
    },
  }
}
