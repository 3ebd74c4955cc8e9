import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { freePort } from './free-port.js'

// A built server (or any CLI) as a real process, with its pino lines parsed as they arrive: the one
// way every test, the reliability suite and the bench start a service.

/** One pino line: `msg`, `level`, and whatever else the line carries. */
export type LogLine = Record<string, unknown>

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  /** When the process exited (performance.now()). */
  at: number
}

export interface SpawnOptions {
  /** Script run with this Node binary, e.g. apps/api/dist/server.js. */
  entry?: string
  /** A whole command instead of `node entry` (e.g. ['pnpm', 'migrate', 'up']). */
  command?: readonly string[]
  /** Added to HOST=127.0.0.1, PATH and the picked ports; a value here wins. */
  env?: Record<string, string>
  cwd?: string
  /** Flags for node before the entry (--cpu-prof, --max-old-space-size). */
  nodeArgs?: readonly string[]
  /** A command that execs node, e.g. ['prlimit', '--nofile=256'] or ['taskset', '-c', '1']. */
  wrapper?: readonly string[]
  /**
   * Free ports for PORT and METRICS_PORT unless `env` sets them (the default), so files run in
   * parallel; false for a process that listens on nothing (a CLI).
   */
  ports?: boolean
  /** A file that receives stdout instead of a pipe to this process; lines() stays empty. */
  logFile?: string
}

export interface ServerProcess {
  child: ChildProcess
  pid: number
  port: number
  metricsPort: number
  /** http://127.0.0.1:<PORT> */
  url: string
  /** http://127.0.0.1:<METRICS_PORT> */
  metricsUrl: string
  /** The JSON lines of stdout so far (a live array). */
  lines(): LogLine[]
  /** stdout as text (its last megabyte). */
  output(): string
  /** stderr as text (its last megabyte). */
  stderr(): string
  /** How many reads of stdout brought data: about how many writes the process made. */
  stdoutChunks(): number
  /** The first line, so far or to come, whose `msg` equals `match` (or matches it); rejects on exit or timeout. */
  waitForLine(match: string | RegExp | ((line: LogLine) => boolean), timeoutMs?: number): Promise<LogLine>
  /** Resolves with the first match of `pattern` in stdout, so far or to come; rejects on exit or timeout. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
  exited: Promise<Exit>
  signal(signal: NodeJS.Signals): void
  /** Sends `signal` (SIGTERM) and waits for the exit; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>
}

const KEEP = 1_000_000

/** Starts the process; resolves once it is spawned (not once it listens: wait with waitForLine or waitForStatus). */
export async function spawnServer(options: SpawnOptions): Promise<ServerProcess> {
  const env = options.env ?? {}
  const wantsPorts = options.ports ?? true
  const port = env.PORT ? Number(env.PORT) : wantsPorts ? await freePort() : 0
  const metricsPort = env.METRICS_PORT ? Number(env.METRICS_PORT) : wantsPorts ? await freePort() : 0
  const [command, ...args] = [
    ...(options.wrapper ?? []),
    ...(options.command ?? [process.execPath, ...(options.nodeArgs ?? []), required(options.entry)]),
  ]
  // A log file is the child's stdout itself, not a pipe through this process: pino writes
  // synchronously, and a pipe whose reader is busy (a load generator) would block the server.
  const logFd = options.logFile ? openSync(options.logFile, 'w') : undefined
  const child = spawn(command as string, args, {
    cwd: options.cwd,
    env: {
      // Only what the test gives: a developer's own LOG_LEVEL or DATABASE_URL must not leak in.
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      ...(wantsPorts ? { PORT: String(port), METRICS_PORT: String(metricsPort) } : {}),
      ...env,
    },
    stdio: ['ignore', logFd ?? 'pipe', 'pipe'],
  })
  if (logFd !== undefined) closeSync(logFd)
  // The error listener stays: a later error (a failed kill) must not crash the test process.
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve)
    child.on('error', (error) => reject(new Error(`cannot start ${command}: ${error.message}`)))
  })

  const lines: LogLine[] = []
  const waiters = new Set<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>()
  let stdout = ''
  let stderr = ''
  let chunks = 0
  let partial = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-KEEP)
  })
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    chunks++
    stdout = (stdout + chunk).slice(-KEEP)
    partial += chunk
    for (let nl = partial.indexOf('\n'); nl >= 0; nl = partial.indexOf('\n')) {
      const text = partial.slice(0, nl)
      partial = partial.slice(nl + 1)
      const line = parse(text)
      if (!line) continue
      lines.push(line)
      for (const w of waiters) {
        if (w.match(line)) {
          waiters.delete(w)
          w.resolve(line)
        }
      }
    }
  })
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      const exit = { code, signal, at: performance.now() }
      // Resolved once stdout and stderr are read to their end, so that output() and lines() are
      // complete; a grandchild that keeps a pipe open delays that by a second at most.
      const timer = setTimeout(() => resolve(exit), 1000)
      child.once('close', () => {
        clearTimeout(timer)
        resolve(exit)
      })
    })
  })

  // A bound for a hang, not a speed limit: a loaded 2-core machine can take tens of seconds to start.
  const waitForLine: ServerProcess['waitForLine'] = (wanted, timeoutMs = 120_000) => {
    const match = matcher(wanted)
    const found = lines.find(match)
    if (found) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (l: LogLine) => {
          clearTimeout(timer)
          resolve(l)
        },
      }
      const fail = (why: string) => {
        if (!waiters.delete(waiter)) return
        clearTimeout(timer)
        reject(new Error(`${why}; stderr: ${stderr.slice(-2000)}`))
      }
      const timer = setTimeout(() => fail(`no log "${String(wanted)}" within ${timeoutMs} ms`), timeoutMs)
      waiters.add(waiter)
      // The last lines may still be in the pipe when 'exit' fires.
      void exited.then(() => setTimeout(() => fail(`exited before log "${String(wanted)}"`), 50))
    })
  }

  const waitForOutput: ServerProcess['waitForOutput'] = async (pattern, timeoutMs = 120_000) => {
    const deadline = performance.now() + timeoutMs
    let gone = false
    void exited.then(() => {
      gone = true
    })
    for (;;) {
      const found = pattern.exec(stdout)
      if (found) return found
      if (gone) throw new Error(`exited before printing ${pattern}; stderr: ${stderr.slice(-2000)}`)
      if (performance.now() > deadline) {
        throw new Error(`no ${pattern} within ${timeoutMs} ms; stdout: ${stdout.slice(-2000)}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  const stop: ServerProcess['stop'] = async (signal = 'SIGTERM', timeoutMs = 20_000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      await exited
      clearTimeout(timer)
    }
    return exited
  }

  return {
    child,
    pid: child.pid as number,
    port,
    metricsPort,
    url: `http://127.0.0.1:${port}`,
    metricsUrl: `http://127.0.0.1:${metricsPort}`,
    lines: () => lines,
    output: () => stdout,
    stderr: () => stderr,
    stdoutChunks: () => chunks,
    waitForLine,
    waitForOutput,
    exited,
    signal: (signal) => {
      child.kill(signal)
    },
    stop,
  }
}

function required(entry: string | undefined): string {
  if (!entry) throw new Error('spawnServer needs an entry or a command')
  return entry
}

function parse(text: string): LogLine | undefined {
  if (!text.startsWith('{')) return undefined
  try {
    return JSON.parse(text) as LogLine
  } catch {
    return undefined
  }
}

function matcher(wanted: string | RegExp | ((line: LogLine) => boolean)): (line: LogLine) => boolean {
  if (typeof wanted === 'function') return wanted
  if (typeof wanted === 'string') return (l) => l.msg === wanted
  return (l) => wanted.test(String(l.msg ?? ''))
}
