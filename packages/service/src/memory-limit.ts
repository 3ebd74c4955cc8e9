import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { getHeapStatistics } from 'node:v8'

// cgroup v1 reports "no limit" as a page-rounded 2^63 - 1; anything this large is not a limit.
const NO_LIMIT = 2 ** 60

/** The container's memory limit in bytes (cgroup v2 `memory.max`, v1 `memory.limit_in_bytes`), if any. */
export function containerMemoryLimit(root = '/sys/fs/cgroup'): number | undefined {
  for (const file of ['memory.max', 'memory/memory.limit_in_bytes']) {
    let text: string
    try {
      text = readFileSync(join(root, file), 'utf8').trim()
    } catch {
      continue
    }
    if (text === 'max') return undefined
    const bytes = Number(text)
    return Number.isFinite(bytes) && bytes > 0 && bytes < NO_LIMIT ? bytes : undefined
  }
  return undefined
}

export interface MemoryThresholds {
  maxRssBytes: number
  maxHeapUsedBytes: number
  containerLimitBytes: number | undefined
}

/**
 * Shedding starts before the kernel's OOM killer or V8's heap limit would end the process: at 90 % of
 * the container limit for RSS and 90 % of V8's heap limit for the heap. Explicit values win; with no
 * container limit the RSS check is off (0).
 */
export function memoryThresholds(
  explicit: { maxRssBytes: number; maxHeapUsedBytes: number },
  limit = containerMemoryLimit(),
  heapLimit = getHeapStatistics().heap_size_limit,
): MemoryThresholds {
  return {
    maxRssBytes: explicit.maxRssBytes || (limit ? Math.floor(limit * 0.9) : 0),
    maxHeapUsedBytes: explicit.maxHeapUsedBytes || Math.floor(Math.min(heapLimit, limit ?? heapLimit) * 0.9),
    containerLimitBytes: limit,
  }
}

/** The parts of `process.memoryUsage()` that the RSS check reads. */
export type MemorySample = Pick<NodeJS.MemoryUsage, 'rss' | 'heapUsed' | 'external'>

/**
 * The RSS check, made to end with the load. RSS alone latches: V8 and glibc keep the pages that a
 * spike made them take, so RSS stays above the threshold long after the memory is garbage, and a
 * replica that once crossed it would shed every request until restarted, though shedding cannot
 * shrink those pages and new requests reuse them. So RSS over the threshold sheds only while the
 * memory in use is over it too: what the process held at start besides JavaScript data (code,
 * V8's and Node's own), plus the JavaScript heap in use and external memory (Buffers) now. The
 * first sample is the baseline.
 */
export function rssPressure(maxRssBytes: number, baseline: MemorySample) {
  const nonJs = Math.max(0, baseline.rss - baseline.heapUsed - baseline.external)
  return {
    inUse: (now: MemorySample) => nonJs + now.heapUsed + now.external,
    isOver(now: MemorySample): boolean {
      return maxRssBytes > 0 && now.rss > maxRssBytes && this.inUse(now) > maxRssBytes
    },
  }
}
