import { type SpawnSyncReturns, spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { commitAll } from '@stack/testing/repository'

// The copy of the repository is @stack/testing's (copyRepository, commitAll, removeRepository), which
// the deploy tests use too; these are what the generator's tests add: running a command in a copy.

/** The checkout these tests run in. */
export const mainRoot = fileURLToPath(new URL('../../../', import.meta.url))
export const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url))

export interface Result {
  code: number | null
  stdout: string
  stderr: string
  ms: number
}

/**
 * The environment for a command run in a copy: this process's, without what would leak into it from
 * the run around it (Turborepo's task variables; CI's Vitest JSON directory, which would count the
 * copy's tests as this repository's).
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith('TURBO_') && !k.startsWith('VITEST') && k !== 'NODE_ENV' && k !== 'TEST',
    ),
  )
  return { ...env, FORCE_COLOR: '0', NO_COLOR: '1', ...extra }
}

export function run(
  command: string,
  args: string[],
  cwd: string,
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
): Result {
  const started = performance.now()
  const result: SpawnSyncReturns<string> = spawnSync(command, args, {
    cwd,
    env: childEnv(options.env),
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 300_000,
    maxBuffer: 64 * 1024 * 1024,
  })
  if (result.error) throw result.error
  return {
    code: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    ms: Math.round(performance.now() - started),
  }
}

/** Fails with the command's output when it did not exit 0. */
export function ok(result: Result, what: string): Result {
  if (result.code !== 0) {
    throw new Error(
      `${what} exited ${result.code}:\n${result.stdout.slice(-6000)}\n${result.stderr.slice(-6000)}`,
    )
  }
  return result
}

/** `git status --porcelain` of a copy: empty when nothing changed since the last commit. */
export function changes(root: string, path = '.'): string {
  return ok(
    run('git', ['status', '--porcelain', '--untracked-files=all', '--', path], root),
    'git status',
  ).stdout.trim()
}

/** The generator's own files, copied into a fixture repository so that it renders that one's templates. */
const tool = fileURLToPath(new URL('../', import.meta.url))

/**
 * A small repository shaped like the stack (test/fixtures/repo: compose files, overlays and a Prometheus
 * list with marker lines, the API's deploy files), holding a copy of this generator whose deploy
 * templates are the stand-ins of test/fixtures/templates: the refusals and the list insertion are
 * tested on files whose content the test knows, whatever the real deploy templates hold.
 */
export function fixtureRepository(prefix = 'new-service-fixture-'): string {
  const root = mkdtempSync(join(tmpdir(), prefix))
  cpSync(join(tool, 'test/fixtures/repo'), root, { recursive: true })
  const copy = join(root, 'tooling/new-service')
  for (const part of ['src', 'template', 'package.json'])
    cpSync(join(tool, part), join(copy, part), { recursive: true })
  rmSync(join(copy, 'template/common/compose.yaml.tmpl'), { force: true })
  rmSync(join(copy, 'template/common/k8s'), { recursive: true, force: true })
  cpSync(join(tool, 'test/fixtures/templates'), join(copy, 'template/common'), { recursive: true })
  commitAll(root, 'fixture')
  return root
}
