import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { migrationsWith } from '@stack/testing'
import { afterAll, describe, expect, it } from 'vitest'

// docs/schema-changes.md's examples against the compatibility proof's own mechanism: the release
// still serving (this revision's API; its notes tests, the CRUD contract) runs on a database that
// the API's migrations plus the examples so far made (TEST_MIGRATIONS_DIR), one doc section after
// another as releases would ship them. Every expand step must pass; the drop, shipped while this
// release still reads the column, must fail, as the page says check:compat does. (The linter half
// is packages/migrate/test/schema-changes-doc.test.ts.) No worktree: the serving release is this one.

const root = fileURLToPath(new URL('../../../', import.meta.url))
const api = join(root, 'apps/api')
const doc = readFileSync(join(root, 'docs/schema-changes.md'), 'utf8')
const blocks = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => (m[1] as string).replace(/^ {3}/gm, ''))
const folders: string[] = []
afterAll(() => {
  for (const f of folders) rmSync(f, { recursive: true, force: true })
})

/** The API's migrations with `sqls` appended, one migration each (9000, 9001, …). */
function withExamples(sqls: string[]): string {
  const dir = migrationsWith(
    join(api, 'drizzle'),
    sqls.map((sql, i) => ({ tag: `${String(9000 + i)}_doc_example`, sql })),
  )
  folders.push(dir)
  return dir
}

/** The API's notes tests on a schema that `folder` made, with nothing of this Vitest run in their environment. */
function servingReleaseTests(folder: string) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'TEST'),
  )
  const result = spawnSync('pnpm', ['exec', 'vitest', 'run', 'test/notes.test.ts'], {
    cwd: api,
    env: { ...env, NODE_ENV: '', FORCE_COLOR: '0', NO_COLOR: '1', TEST_MIGRATIONS_DIR: folder },
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 64 * 1024 * 1024,
  })
  if (result.error) throw result.error
  return { code: result.status, output: `${result.stdout}\n${result.stderr}` }
}

const drop = blocks.findIndex((sql) => /DROP COLUMN/i.test(sql))

describe('docs/schema-changes.md on the release still serving', () => {
  it('has the examples it promises, the drop last', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(6)
    expect(drop).toBe(blocks.length - 1)
  })

  it.each(blocks.slice(0, drop).map((sql, i) => [i + 1, sql] as const))(
    'examples 1 to %i applied: the serving release still passes its notes tests',
    (n) => {
      const { code, output } = servingReleaseTests(withExamples(blocks.slice(0, n)))
      expect(output).toMatch(/Tests\s+\d+ passed/)
      expect(code, output.slice(-3000)).toBe(0)
    },
  )

  it('the drop, while the serving release still reads the column: its tests fail', () => {
    const { code, output } = servingReleaseTests(withExamples(blocks))
    expect(output).toMatch(/column "title" does not exist|Tests\s+\d+ failed/)
    expect(code).toBe(1)
  })
})
