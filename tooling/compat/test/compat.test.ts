import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { commitAll, copyRepository, removeRepository } from '@stack/testing/repository'
import { afterEach, describe, expect, it } from 'vitest'

// check:compat in a throwaway copy of this checkout (with the harness hook, committed: it is the
// base) to which one commit adds a migration. Only the API's notes tests run at the base, to keep
// each run to one install, one build and one test file.

const root = fileURLToPath(new URL('../../../', import.meta.url))
let copy: string | undefined
afterEach(() => removeRepository(copy))

/** Adds migration 0001 to the API in the copy and commits it, as a branch that changes the schema would. */
function addMigration(sql: string): void {
  if (!copy) throw new Error('no copy')
  const drizzle = join(copy, 'apps/api/drizzle')
  writeFileSync(join(drizzle, '0001_change.sql'), sql)
  const journalFile = join(drizzle, 'meta/_journal.json')
  const journal = JSON.parse(readFileSync(journalFile, 'utf8'))
  const last = journal.entries.at(-1)
  journal.entries.push({ ...last, idx: last.idx + 1, when: last.when + 1000, tag: '0001_change' })
  writeFileSync(journalFile, JSON.stringify(journal, null, 2))
  commitAll(copy, 'api: a migration')
}

/** The check as a user runs it, with nothing of this Vitest run or turbo task in its environment. */
function checkCompat(cwd: string) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith('TURBO_') && !k.startsWith('VITEST') && k !== 'TEST',
    ),
  )
  const started = performance.now()
  const result = spawnSync('node', ['tooling/compat/src/cli.ts', '--tests', 'test/notes.test.ts'], {
    cwd,
    env: { ...env, NODE_ENV: '', FORCE_COLOR: '0', NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 1_100_000,
    maxBuffer: 64 * 1024 * 1024,
  })
  if (result.error) throw result.error
  const output = `${result.stdout}\n${result.stderr}`
  console.log(
    `check:compat exited ${result.status} after ${Math.round((performance.now() - started) / 1000)} s`,
  )
  return { code: result.status, output }
}

describe('pnpm check:compat', () => {
  it('fails when a migration renames a column the serving release reads (notes.title)', () => {
    copy = copyRepository(root, { prefix: 'compat-rename-' })
    addMigration('ALTER TABLE "notes" RENAME COLUMN "title" TO "name";\n')
    const { code, output } = checkCompat(copy)
    expect(output).toContain('INCOMPATIBLE')
    expect(output).toContain('apps/api')
    expect(code, output.slice(-4000)).toBe(1)
  })

  it('passes when a migration only adds a nullable column', () => {
    copy = copyRepository(root, { prefix: 'compat-add-' })
    addMigration('ALTER TABLE "notes" ADD COLUMN "tag" text;\n')
    const { code, output } = checkCompat(copy)
    expect(code, output.slice(-4000)).toBe(0)
    expect(output).toContain('compatible')
  })

  it('exits 2 on a usage error', () => {
    const result = spawnSync('node', ['tooling/compat/src/cli.ts', '--nope'], { cwd: root, encoding: 'utf8' })
    expect(result.status).toBe(2)
    expect(result.stderr).toContain('usage: pnpm check:compat')
  })
})
