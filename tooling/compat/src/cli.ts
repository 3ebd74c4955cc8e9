#!/usr/bin/env node
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { baseHasHook, defaultBase, migrationsChanged, servicesWithMigrations } from './base.ts'
import { git } from './git.ts'
import { addWorktree } from './worktree.ts'

// pnpm check:compat [--base REV] [--tests PATTERN]: the base revision's tests of every service with
// migrations, run on databases migrated by this working tree's migrations. Exit 0 compatible, 1 a
// base test failed, 2 usage or a base that cannot be checked.

const USAGE = 'usage: pnpm check:compat [--base REV] [--tests PATTERN]'

function fail(message: string): never {
  console.error(`check:compat: ${message}`)
  process.exit(2)
}

let options: { base?: string; tests?: string; help?: boolean }
try {
  options = parseArgs({
    options: { base: { type: 'string' }, tests: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  }).values
} catch (error) {
  fail(`${(error as Error).message}\n${USAGE}`)
}
if (options.help) {
  console.info(USAGE)
  process.exit(0)
}

const root = git(process.cwd(), 'rev-parse', '--show-toplevel')
const services = servicesWithMigrations(root)
if (services.length === 0) fail('no service has migrations (apps/*/drizzle)')

let base: string
try {
  base = git(root, 'rev-parse', '--verify', `${options.base ?? defaultBase(root)}^{commit}`)
} catch (error) {
  fail(
    `cannot resolve the base revision ${options.base ?? '(default)'}: ${(error as Error).message.split('\n')[0]}`,
  )
}
console.info(
  `check:compat: base ${base.slice(0, 12)} (${options.base ? '--base' : 'before the newest migration'})`,
)

if (!migrationsChanged(root, base)) {
  console.info('check:compat: no migration changed since the base: nothing to check')
  process.exit(0)
}
if (!baseHasHook(root, base)) {
  fail(`base predates check:compat: ${base.slice(0, 12)}'s test harness has no TEST_MIGRATIONS_DIR`)
}

const worktree = addWorktree(root, base)
const started = performance.now()
let failed: string[] = []
let prepared = false
try {
  // A service that is new since the base has no old release to keep serving.
  const inBoth = services.filter((service) => existsSync(join(worktree.dir, service, 'package.json')))
  prepared = prepare(worktree.dir, inBoth)
  if (prepared) failed = runBaseTests(inBoth)
} finally {
  worktree.remove()
}
console.info(
  `check:compat: ${Math.round((performance.now() - started) / 1000)} s in all (worktree, install, build, tests)`,
)
if (!prepared) fail(`could not install or build the base ${base.slice(0, 12)}`)
if (failed.length > 0) {
  console.error(
    `check:compat: INCOMPATIBLE: the base's tests failed on the new schema for ${failed.join(', ')}`,
  )
  process.exit(1)
}
console.info("check:compat: compatible: the base passes its tests on this revision's schema")

/** The services whose base tests failed. */
function runBaseTests(inBoth: string[]): string[] {
  const started = performance.now()
  const failed = inBoth.filter((service) => {
    const env = [`TEST_MIGRATIONS_DIR=${resolve(root, service, 'drizzle')}`]
    const args = ['exec', 'vitest', 'run', ...(options.tests ? [options.tests] : [])]
    console.info(`\ncheck:compat: ${service}'s tests at the base, on this revision's migrations`)
    return run(join(worktree.dir, service), 'pnpm', args, env) !== 0
  })
  console.info(`check:compat: base tests took ${Math.round((performance.now() - started) / 1000)} s`)
  return failed
}

/**
 * Runs a command with its output on ours; its exit status (1 when it could not start). `env` adds
 * variables through env(1), so the command inherits this process's environment otherwise.
 */
function run(cwd: string, command: string, args: string[], env: string[] = []): number {
  console.info(`$ ${[...env, command, ...args].join(' ')}`)
  const result = spawnSync('env', [...env, command, ...args], { cwd, stdio: 'inherit' })
  return result.status ?? 1
}

/**
 * Installs the base's dependencies (offline from the pnpm store first: the base's lockfile is
 * usually the same as ours) and builds what its services' tests import; false when either fails.
 */
export function prepare(dir: string, services: string[]): boolean {
  const offline = run(dir, 'pnpm', ['install', '--offline', '--frozen-lockfile'])
  if (offline !== 0 && run(dir, 'pnpm', ['install', '--frozen-lockfile']) !== 0) return false
  const filters = services.map((service) => `--filter=./${service}...`)
  return run(dir, 'pnpm', ['turbo', 'run', 'build', '--output-logs=errors-only', ...filters]) === 0
}
