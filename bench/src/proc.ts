import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

// Resolved from bench/src (the reliability suite under Vitest) and bench/dist (the bench) alike.
const fromRoot = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url))

/** The API as production runs it (the esbuild bundle), and as tsc emits it. */
export const API_ENTRIES = {
  bundle: fromRoot('apps/api/dist/server.bundle.js'),
  tsc: fromRoot('apps/api/dist/server.js'),
} as const
export type ApiEntry = keyof typeof API_ENTRIES

/** Compiled by this package's build; the bench runs them as plain `node`, without a loader. */
export const TARGETS = {
  nodeHttp: fromRoot('bench/dist/targets/node-http.js'),
  fastify: fromRoot('bench/dist/targets/fastify.js'),
  rawPg: fromRoot('bench/dist/targets/raw-pg.js'),
}

let tasksetChecked: boolean | undefined
/** Whether `taskset` (util-linux) is there to pin processes to cores. */
export function canPin(): boolean {
  if (tasksetChecked === undefined) {
    try {
      execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' })
      tasksetChecked = true
    } catch {
      tasksetChecked = false
    }
  }
  return tasksetChecked
}

/** Pins every thread of `pid` (and whatever it starts later) to `cpus`, e.g. "0" or "0,1". */
export function pin(pid: number, cpus: string): void {
  if (!cpus || !canPin()) return
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' })
}

export interface Child {
  child: ChildProcess
  pid: number
  /** JSON log lines seen so far (only when stdout is parsed, not when it goes to a file). */
  logs: Record<string, unknown>[]
  stderr(): string
  /** Exit code or signal, and when (performance.now()). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
  waitForLog(
    match: string | ((line: Record<string, unknown>) => boolean),
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>
  /** Sends `signal` (default SIGTERM) and waits for the exit, SIGKILL after `timeoutMs`. */
  stop(
    signal?: NodeJS.Signals,
    timeoutMs?: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export interface SpawnOptions {
  /** Script to run with this Node binary. */
  script: string
  env: Record<string, string>
  /** Cores to run on (taskset -c), e.g. "1"; empty for no pinning. */
  cpus?: string
  nodeArgs?: string[]
  /** A file that receives stdout instead of this process (cheap while under load); logs stay empty. */
  logFile?: string
}

/** Starts `node script` as a child process, pinned to `cpus` when asked, with its JSON logs parsed. */
export function spawnNode(options: SpawnOptions): Child {
  const nodeArgs = [...(options.nodeArgs ?? []), options.script]
  // taskset execs node: the child's pid is the server's own.
  const [command, args] =
    options.cpus && canPin()
      ? ['taskset', ['-c', options.cpus, process.execPath, ...nodeArgs]]
      : [process.execPath, nodeArgs]
  // A log file is the child's stdout itself, not a pipe through this process: pino writes
  // synchronously, and a pipe whose reader is busy (this process is the load generator) would block
  // the server on every log line.
  const logFd = options.logFile ? openSync(options.logFile, 'w') : undefined
  const child = spawn(command as string, args as string[], {
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', logFd ?? 'pipe', 'pipe'],
  })
  if (logFd !== undefined) closeSync(logFd)
  if (!child.pid) throw new Error(`cannot start ${options.script}`)

  const logs: Record<string, unknown>[] = []
  const waiters = new Set<{
    match: (l: Record<string, unknown>) => boolean
    resolve: (l: Record<string, unknown>) => void
  }>()
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000)
  })
  if (!options.logFile) {
    let buffer = ''
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        if (!line.startsWith('{')) continue
        let entry: Record<string, unknown>
        try {
          entry = JSON.parse(line)
        } catch {
          continue
        }
        logs.push(entry)
        for (const w of waiters) {
          if (w.match(entry)) {
            waiters.delete(w)
            w.resolve(entry)
          }
        }
      }
    })
  }
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    at: performance.now(),
  }))

  const waitForLog: Child['waitForLog'] = (msg, timeoutMs = 20_000) => {
    const match = typeof msg === 'string' ? (l: Record<string, unknown>) => l.msg === msg : msg
    const found = logs.find(match)
    if (found) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (l: Record<string, unknown>) => {
          clearTimeout(timer)
          resolve(l)
        },
      }
      const timer = setTimeout(() => {
        waiters.delete(waiter)
        reject(new Error(`no log "${String(msg)}" within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`))
      }, timeoutMs)
      waiters.add(waiter)
      void exited.then(() =>
        setTimeout(() => {
          if (!waiters.delete(waiter)) return
          clearTimeout(timer)
          reject(new Error(`exited before log "${String(msg)}"; stderr: ${stderr.slice(-2000)}`))
        }, 50),
      )
    })
  }

  const stop: Child['stop'] = async (signal = 'SIGTERM', timeoutMs = 20_000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      await exited
      clearTimeout(timer)
    }
    const { code, signal: sig } = await exited
    return { code, signal: sig }
  }

  return { child, pid: child.pid, logs, stderr: () => stderr, exited, waitForLog, stop }
}

/** A field of /proc/<pid>/status in bytes (VmRSS: resident now, VmHWM: peak resident), or NaN once gone. */
export function procMemory(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8')
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)
    return m ? Number(m[1]) * 1024 : Number.NaN
  } catch {
    return Number.NaN
  }
}

/** CPU time (user + system, all threads) of `pid` in seconds, from /proc/<pid>/stat; NaN once gone. */
export function procCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return Number.NaN
  }
}
// USER_HZ: 100 on every Linux architecture Node supports.
const CLOCK_TICKS = 100

/** Samples VmRSS of `pid` every `intervalMs` until stopped; returns the samples with their times. */
export function sampleRss(pid: number, intervalMs = 250) {
  const samples: { t: number; rss: number }[] = []
  const take = () => {
    const rss = procMemory(pid, 'VmRSS')
    if (!Number.isNaN(rss)) samples.push({ t: performance.now(), rss })
  }
  take()
  const timer = setInterval(take, intervalMs)
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
