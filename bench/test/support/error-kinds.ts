import { readFileSync } from 'node:fs'

// A failed run must say what failed and when: "308 × 503" alone does not tell a shed request
// (which reason?) from a pool that timed out, nor one bad second from a steady trickle.

/** A failed request: when it was sent (seconds into the run) and what it was (see errorKind). */
export interface ErrorEvent {
  atS: number
  kind: string
}

export interface ErrorKind {
  kind: string
  count: number
  /** Runs of seconds with at least one error of this kind, gaps of up to `gapS` merged. */
  windows: { fromS: number; toS: number; count: number }[]
}

/**
 * Status and problem code, e.g. "503 DB_UNAVAILABLE", with the shedding reason for a shed request
 * ("503 SVC_OVERLOADED eventLoopDelay"); "socket: <message>" when there was no answer.
 */
export function errorKind(res: { status: number; body: string } | undefined, error?: Error): string {
  if (!res) return `socket: ${error?.message ?? 'no answer'}`
  let problem: { code?: unknown; detail?: unknown } = {}
  try {
    problem = JSON.parse(res.body)
  } catch {
    return `${res.status} (not JSON)`
  }
  const code = typeof problem.code === 'string' ? problem.code : '(no code)'
  // ShedError's message names the reason: "The server is overloaded (eventLoopDelay); retry later".
  const reason = code === 'SVC_OVERLOADED' ? /\((\w+)\)/.exec(String(problem.detail))?.[1] : undefined
  return reason ? `${res.status} ${code} ${reason}` : `${res.status} ${code}`
}

export function errorKinds(events: ErrorEvent[], gapS = 2): ErrorKind[] {
  const byKind = new Map<string, number[]>()
  for (const e of events) byKind.set(e.kind, [...(byKind.get(e.kind) ?? []), Math.floor(e.atS)])
  return [...byKind].map(([kind, seconds]) => {
    seconds.sort((a, b) => a - b)
    const windows: ErrorKind['windows'] = []
    for (const s of seconds) {
      const last = windows.at(-1)
      if (last && s - last.toS <= gapS) {
        last.toS = s
        last.count++
      } else windows.push({ fromS: s, toS: s, count: 1 })
    }
    return { kind, count: seconds.length, windows }
  })
}

/** One line per kind: its count and its windows, e.g. "503 DB_UNAVAILABLE: 12 at 41-42 s (12)". */
export function errorTable(kinds: ErrorKind[]): string {
  return kinds
    .map(
      (k) =>
        `  ${k.kind}: ${k.count} at ` +
        k.windows
          .map((w) => `${w.fromS === w.toS ? w.fromS : `${w.fromS}-${w.toS}`} s (${w.count})`)
          .join(', '),
    )
    .join('\n')
}

// The service logs levels as labels and times as ISO strings; pino's numbers are understood too.
const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 }

/** A JSON log line of the server at warn or above, its time in seconds into the run. */
export interface LogLine {
  atS: number
  level: number
  msg: string
  line: Record<string, unknown>
}

/**
 * The server's warnings and errors from its log file (pino JSON): what it said
 * about the errors the load saw. `startEpochMs` is the run's start.
 */
export function serverWarnings(logFile: string, startEpochMs: number): LogLine[] {
  const lines: LogLine[] = []
  for (const text of readFileSync(logFile, 'utf8').split('\n')) {
    if (!text.startsWith('{')) continue
    let line: Record<string, unknown>
    try {
      line = JSON.parse(text)
    } catch {
      continue
    }
    const level = typeof line.level === 'number' ? line.level : (LEVELS[String(line.level)] ?? 0)
    if (level < 40) continue
    lines.push({
      atS: Math.round((new Date(line.time as string | number).getTime() - startEpochMs) / 100) / 10,
      level,
      msg: String(line.msg),
      line,
    })
  }
  return lines
}

/** A warning as an event for errorKinds: its message with the shedding reason or the database's cause. */
export function warningEvent(w: LogLine): ErrorEvent {
  const detail = w.line.reason ?? w.line.cause
  return { atS: w.atS, kind: detail === undefined ? w.msg : `${w.msg}: ${String(detail)}` }
}
