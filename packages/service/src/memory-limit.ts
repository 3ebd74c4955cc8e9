import { readFileSync } from 'node:fs'
import { join } from 'node:path'

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

const MiB = 1024 * 1024

/** The last `--name=<MiB>` among V8 options (V8 takes no "--name value" form; the last one wins). */
function v8SizeFlag(nodeOptions: readonly string[], name: string): number | undefined {
  const flag = new RegExp(`^--${name.replaceAll('-', '[-_]')}=(\\d+)$`)
  let mb: number | undefined
  for (const option of nodeOptions) {
    const match = flag.exec(option)
    if (match) mb = Number(match[1])
  }
  return mb !== undefined && mb > 0 ? mb * MiB : undefined
}

/**
 * The old generation's limit: what V8 runs out of before it ends the process. heap_size_limit also
 * counts the young generation (3 semi-spaces: two for scavenges, one for new large objects), which
 * Node 24 sizes from the memory it sees unless --max-semi-space-size says otherwise: under
 * --max-old-space-size=160 alone, 3 MiB of the limit in a 512 MiB container, 96 MiB in a 2 GiB one,
 * 192 MiB on a 24 GiB machine. With neither option V8's split is unknown, and heap_size_limit is the
 * answer. `nodeOptions`: NODE_OPTIONS first, then the command line's options, which win.
 */
export function oldGenerationLimit(heapLimit: number, nodeOptions: readonly string[]): number {
  const old = v8SizeFlag(nodeOptions, 'max-old-space-size')
  if (old !== undefined) return Math.min(old, heapLimit)
  const semiSpace = v8SizeFlag(nodeOptions, 'max-semi-space-size')
  return semiSpace !== undefined && heapLimit > 3 * semiSpace ? heapLimit - 3 * semiSpace : heapLimit
}

/**
 * Shedding starts before the kernel's OOM killer or V8's heap limit would end the process: at 90 % of
 * the container limit for RSS, and for the heap at 90 % of the old generation's limit, not of
 * heap_size_limit: heapUsed is the old space in use plus the live part of one semi-space, so 90 % of
 * the whole limit comes too late or never (docs/performance.md, "Figures behind code comments").
 * Explicit values win; with no container limit the RSS check is off (0). `limit` is the container's
 * (containerMemoryLimit), `heapLimit` the old generation's (oldGenerationLimit): the caller reads
 * them, so that this stays a rule of numbers.
 */
export function memoryThresholds(
  explicit: { maxRssBytes: number; maxHeapUsedBytes: number },
  limit: number | undefined,
  heapLimit: number,
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
