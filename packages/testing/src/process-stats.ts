import { readFileSync } from 'node:fs'

// What a process costs, read from /proc (Linux): resident memory now and at its peak, and CPU time.

export interface ProcessStats {
  /** VmRSS: resident now. */
  rssBytes: number
  /** VmHWM: the peak resident size so far. */
  peakRssBytes: number
  /** User + system time of every thread. */
  cpuSeconds: number
}

/** The process's memory and CPU time; each figure is NaN once the process is gone. */
export function processStats(pid: number): ProcessStats {
  return {
    rssBytes: statusField(pid, 'VmRSS'),
    peakRssBytes: statusField(pid, 'VmHWM'),
    cpuSeconds: cpuSeconds(pid),
  }
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8')
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)
    return m ? Number(m[1]) * 1024 : Number.NaN
  } catch {
    return Number.NaN
  }
}

// USER_HZ: 100 on every Linux architecture Node supports.
const CLOCK_TICKS = 100

function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may hold spaces: utime, stime.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return Number.NaN
  }
}

export interface RssSampler {
  samples: { t: number; rss: number }[]
  /** Stops sampling (after one last sample) and returns the samples. */
  stop(): { t: number; rss: number }[]
  max(): number
}

/** Samples the resident size of `pid` every `intervalMs` until stopped, with the time of each sample. */
export function sampleRss(pid: number, intervalMs = 250): RssSampler {
  const samples: { t: number; rss: number }[] = []
  const take = () => {
    const rss = statusField(pid, 'VmRSS')
    if (!Number.isNaN(rss)) samples.push({ t: performance.now(), rss })
  }
  take()
  const timer = setInterval(take, intervalMs)
  timer.unref()
  return {
    samples,
    stop() {
      clearInterval(timer)
      take()
      return samples
    },
    max: () => samples.reduce((m, s) => Math.max(m, s.rss), 0),
  }
}
