import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError, loadConfig, migrateVars } from '@stack/config'
import { EXIT } from './errors.js'
import { NO_TRANSACTION } from './files.js'

const CONFIG = fileURLToPath(new URL('../squawk.toml', import.meta.url))

export interface LintResult {
  /** EXIT.OK when squawk found nothing, EXIT.FAILURE when it flagged a statement. */
  code: number
  /** squawk's report, as it printed it. */
  output: string
  files: number
}

/**
 * Runs squawk on the migrations the runner would apply from `folder` (the journal's, in its order),
 * the way the runner executes them: an ordinary file inside a transaction, a `--! no-transaction`
 * file statement by statement outside one. drizzle-kit's `--> statement-breakpoint` lines are SQL
 * comments to squawk.
 */
export async function lintMigrations(folder: string): Promise<LintResult> {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as {
    entries: { tag: string }[]
  }
  const files = journal.entries.map((e) => join(folder, `${e.tag}.sql`))
  // The runner's own test of the marker (files.ts), so the two never disagree on a file.
  const outside = files.filter((f) =>
    NO_TRANSACTION.test(readFileSync(f, 'utf8').trimStart().split('\n', 1)[0] ?? ''),
  )
  const inside = files.filter((f) => !outside.includes(f))
  const runs = await Promise.all([
    inside.length > 0 ? squawk(['--assume-in-transaction', ...inside]) : undefined,
    outside.length > 0 ? squawk(['--no-assume-in-transaction', ...outside]) : undefined,
  ])
  let code: number = EXIT.OK
  let output = ''
  for (const run of runs) {
    if (!run) continue
    if (run.code !== EXIT.OK) code = EXIT.FAILURE
    output += run.output
  }
  return { code, output, files: files.length }
}

function squawk(args: string[]): Promise<{ code: number; output: string }> {
  // squawk-cli's bin is a small Node script that starts the platform binary (an optional dependency).
  const bin = createRequire(import.meta.url).resolve('squawk-cli/js/bin/squawk')
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, '--config', CONFIG, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    child.on('error', fail)
    child.on('close', (code) => {
      // 0 clean, 1 flagged; anything else is squawk itself failing (a parse error is a flag, exit 1).
      if (code === 0 || code === 1) done({ code, output })
      else fail(new Error(`squawk exited with ${code}: ${output.trim()}`))
    })
  })
}

/**
 * `stack-migrate lint`: lints the folder `up` would apply (MIGRATIONS_DIR or ./drizzle) and returns
 * the exit code: 0 clean, 1 flagged (squawk's report printed), 2 usage. Needs no database. The bin
 * passes its console: only entry points print.
 */
export async function lintCommand(extra: string[], out: Pick<Console, 'info' | 'error'>): Promise<number> {
  if (extra.length > 0) {
    out.error(`stack-migrate: lint takes no arguments, got "${extra.join(' ')}"`)
    return EXIT.USAGE
  }
  let dir: string | undefined
  try {
    dir = loadConfig({ MIGRATIONS_DIR: migrateVars.MIGRATIONS_DIR }).MIGRATIONS_DIR
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    out.error(`stack-migrate: ${err.message}`)
    return EXIT.USAGE
  }
  const folder = resolve(dir ?? 'drizzle')
  let result: LintResult
  try {
    result = await lintMigrations(folder)
  } catch (err) {
    out.error(`stack-migrate: cannot lint ${folder}: ${(err as Error).message}`)
    return EXIT.FAILURE
  }
  if (result.output.trim().length > 0) out.info(result.output.trimEnd())
  out.info(
    `stack-migrate: lint ${result.code === EXIT.OK ? 'passed' : 'FAILED'}: ${result.files} migration(s) in ${folder}`,
  )
  return result.code
}

/**
 * `stack-migrate --workspace lint` (the root's `pnpm migrate lint`): every service's migrations,
 * `apps/<name>/drizzle` under `root`, each linted as `lint` would in that service's package. Exit 1
 * when any is flagged, naming each; 2 when there is no service with migrations to lint.
 */
export async function lintWorkspace(root: string, out: Pick<Console, 'info' | 'error'>): Promise<number> {
  const apps = join(root, 'apps')
  const folders = existsSync(apps)
    ? readdirSync(apps)
        .sort()
        .map((name) => join(apps, name, 'drizzle'))
        .filter((folder) => existsSync(join(folder, 'meta', '_journal.json')))
    : []
  if (folders.length === 0) {
    out.error(`stack-migrate: no apps/<name>/drizzle/meta/_journal.json under ${root}: nothing to lint`)
    return EXIT.USAGE
  }
  const flagged: string[] = []
  for (const folder of folders) {
    const result = await lintMigrations(folder)
    if (result.output.trim().length > 0) out.info(result.output.trimEnd())
    const ok = result.code === EXIT.OK
    if (!ok) flagged.push(folder)
    out.info(`stack-migrate: lint ${ok ? 'passed' : 'FAILED'}: ${result.files} migration(s) in ${folder}`)
  }
  if (flagged.length > 0) {
    out.error(
      `stack-migrate: lint FAILED in ${flagged.length} of ${folders.length} service(s): ${flagged.join(', ')}`,
    )
    return EXIT.FAILURE
  }
  out.info(`stack-migrate: lint passed for ${folders.length} service(s)`)
  return EXIT.OK
}
