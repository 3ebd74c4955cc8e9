import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { freePort, request } from '@stack/testing'

export const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url))
/** What images run: the esbuild bundle of dist/server.js (stack-bundle). */
export const BUNDLE = fileURLToPath(new URL('../dist/server.bundle.js', import.meta.url))

export interface RunningServer {
  child: ChildProcess
  port: number
  url: string
  logs: Record<string, unknown>[]
  stderr: () => string
  /** How many reads of the server's stdout brought data: about how many writes it made. */
  stdoutChunks: () => number
  /** Resolves with the exit code and when it happened (performance.now()). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>
  waitForLog(msg: string | RegExp, timeoutMs?: number): Promise<Record<string, unknown>>
}

/** Starts the built server (`node dist/server.js`) as a real process and waits until it listens. */
export async function startServer(
  env: Record<string, string>,
  options: {
    waitFor?: string
    /** A command that runs node, e.g. ['prlimit', '--nofile=256']. */
    wrapper?: string[]
    /** The script node runs: SERVER by default. */
    entry?: string
    cwd?: string
  } = {},
): Promise<RunningServer> {
  const port = await freePort()
  const [command, ...args] = [...(options.wrapper ?? []), process.execPath, options.entry ?? SERVER]
  const child = spawn(command as string, args, {
    cwd: options.cwd,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      // Event-loop shedding off (0): these tests are not about it (pressure.test.ts is), and on a
      // loaded machine the start can block the loop long enough to count as overload.
      PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0',
      PRESSURE_MAX_EVENT_LOOP_UTILIZATION: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: Record<string, unknown>[] = []
  const waiters: {
    match: (l: Record<string, unknown>) => boolean
    resolve: (l: Record<string, unknown>) => void
  }[] = []
  let buffer = ''
  let stderr = ''
  let chunks = 0
  child.stdout?.on('data', (chunk) => {
    chunks++
    buffer += chunk
    let nl = buffer.indexOf('\n')
    while (nl >= 0) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      nl = buffer.indexOf('\n')
      if (!line.startsWith('{')) continue
      const entry = JSON.parse(line)
      logs.push(entry)
      for (const w of [...waiters]) {
        if (w.match(entry)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve(entry)
        }
      }
    }
  })
  child.stderr?.on('data', (chunk) => {
    stderr += chunk
  })
  const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal, at: performance.now() }))

  // A bound for a hang, not a speed limit: a loaded 2-core machine can take tens of seconds to start it.
  const waitForLog = (msg: string | RegExp, timeoutMs = 120_000) => {
    const match = (l: Record<string, unknown>) =>
      typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg ?? ''))
    const found = logs.find(match)
    if (found) return Promise.resolve(found)
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no log "${msg}" within ${timeoutMs} ms; stderr: ${stderr}`)),
        timeoutMs,
      )
      waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer)
          resolve(l)
        },
      })
      exited.then(() =>
        setTimeout(() => reject(new Error(`exited before log "${msg}"; stderr: ${stderr}`)), 50),
      )
    })
  }

  const server = {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    logs,
    stderr: () => stderr,
    stdoutChunks: () => chunks,
    exited,
    waitForLog,
  }
  if (options.waitFor !== '') await waitForLog(options.waitFor ?? 'listening')
  return server
}

export { type Response, request } from '@stack/testing'

/**
 * Waits until /v1 answers without shedding: right after start the event loop has been busy for
 * most of the process's life, and under-pressure's (cumulative) utilization sheds for a while.
 */
export async function untilServing(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const res = await request(`${url}/v1/notes?limit=1`)
    if (res.status === 200) return
    if (performance.now() > deadline)
      throw new Error(`still ${res.status} after ${timeoutMs} ms: ${res.body}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}
