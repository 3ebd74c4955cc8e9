// The servers the bench and the reliability suite run (the API's two builds, the bare targets), and
// the cores they run on.
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

// Resolved from bench/src (the reliability suite under Vitest) and bench/dist (the bench) alike.
const fromRoot = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url))

/** The API as production runs it (the esbuild bundle), and as tsc emits it. */
export const API_ENTRIES = {
  bundle: fromRoot('apps/api/dist/server.bundle.js'),
  tsc: fromRoot('apps/api/dist/server.js'),
} as const
export type ApiEntry = keyof typeof API_ENTRIES

/** The API's migrations: its own drizzle/, as for every service with a database. */
export const API_MIGRATIONS = fromRoot('apps/api/drizzle')

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

/** A wrapper for spawnServer that pins the process to `cpus` (taskset execs node: the pid is the server's). */
export function pinnedTo(cpus: string | undefined): string[] {
  return cpus && canPin() ? ['taskset', '-c', cpus] : []
}
