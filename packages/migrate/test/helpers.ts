import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { migrationsWith as appendMigrations, type LogLine, spawnServer } from '@stack/testing'
import pg from 'pg'

export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
/** A service's package root as the runner sees it: drizzle/ holds a migration as drizzle-kit writes one. */
export const SERVICE_ROOT = fileURLToPath(new URL('fixtures', import.meta.url))
export const migrationsFolder = join(SERVICE_ROOT, 'drizzle')
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url))

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** The JSON log lines of stdout. */
  lines: LogLine[]
  ms: number
}

/**
 * Runs the built CLI as a real process, from SERVICE_ROOT unless `cwd` says otherwise (the runner's
 * default folder is ./drizzle); `onSpawn` gets the child (to signal it).
 */
export function runCli(
  args: string[],
  env: Record<string, string>,
  onSpawn?: (child: ChildProcess) => void,
  cwd = SERVICE_ROOT,
): Promise<CliResult> {
  return run([process.execPath, CLI, ...args], env, onSpawn, cwd)
}

/** The API's package root: where its migrator runs, finding ./drizzle. */
export const API_ROOT = join(REPO_ROOT, 'apps/api')

/** `pnpm --dir apps/api migrate …` at the repository root, as the README tells people to type it. */
export function runPnpmMigrate(args: string[], env: Record<string, string>): Promise<CliResult> {
  return run(
    ['pnpm', '--dir', 'apps/api', 'migrate', ...args],
    { HOME: process.env.HOME ?? '', ...env },
    undefined,
    REPO_ROOT,
  )
}

/** `pnpm <args>` at the repository root, as the README tells people to type it. */
export function runPnpmAtRoot(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return run(['pnpm', ...args], { HOME: process.env.HOME ?? '', ...env }, undefined, REPO_ROOT)
}

async function run(
  command: string[],
  env: Record<string, string>,
  onSpawn?: (child: ChildProcess) => void,
  cwd?: string,
): Promise<CliResult> {
  const started = performance.now()
  const cli = await spawnServer({ command, env, ports: false, ...(cwd ? { cwd } : {}) })
  onSpawn?.(cli.child)
  const { code, signal } = await cli.exited
  const ms = performance.now() - started
  return { code, signal, stdout: cli.output(), stderr: cli.stderr(), lines: cli.lines(), ms }
}

/** A copy of the real migrations (of `base`) with `extra` appended, as drizzle-kit would have written them. */
export function migrationsWith(extra: { tag: string; sql: string }[], base = migrationsFolder): string {
  return appendMigrations(base, extra)
}

export async function query<R extends Record<string, unknown>>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<R>(text)).rows
  } finally {
    await client.end()
  }
}

export async function recorded(url: string): Promise<{ hash: string; n: number }[]> {
  return query(
    url,
    'select hash, count(*)::int as n from drizzle.__drizzle_migrations group by hash order by hash',
  )
}

export async function tables(url: string): Promise<string[]> {
  const rows = await query<{ t: string }>(
    url,
    `select tablename as t from pg_tables where schemaname = 'public' order by 1`,
  )
  return rows.map((r) => r.t)
}

/**
 * Sends `signal` to `child` once a session of `url` runs a query starting with `prefix`: the runner
 * is then inside that statement. Once only: the polls may overlap on a loaded machine.
 */
export function signalWhenRunning(
  child: ChildProcess,
  url: string,
  prefix: string,
  signal: NodeJS.Signals = 'SIGTERM',
) {
  let signalled = false
  const poll = setInterval(async () => {
    const rows = await query<{ n: number }>(
      url,
      `select count(*)::int as n from pg_stat_activity where query like '${prefix.replace(/'/g, "''")}%'`,
    )
    if ((rows[0]?.n ?? 0) > 0 && !signalled) {
      signalled = true
      clearInterval(poll)
      child.kill(signal)
    }
  }, 50)
}
