import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { API_ROOT, migrationsWith, runCli } from './helpers.js'

// docs/schema-changes.md shows how to write each common change safely: each of its SQL blocks,
// appended to the API's migrations as drizzle-kit would write it, passes `stack-migrate lint`.
const doc = readFileSync(fileURLToPath(new URL('../../../docs/schema-changes.md', import.meta.url)), 'utf8')
const blocks = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => (m[1] as string).replace(/^ {3}/gm, ''))

describe('docs/schema-changes.md', () => {
  it('has the examples it promises', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(6)
  })

  it.each(blocks.map((sql, i) => [i + 1, sql] as const))(
    'example %i passes the migration linter',
    async (_, sql) => {
      const folder = migrationsWith([{ tag: '0001_example', sql }], join(API_ROOT, 'drizzle'))
      const result = await runCli(['lint'], { MIGRATIONS_DIR: folder })
      expect(result.stdout).toContain('lint passed')
      expect(result.code).toBe(0)
    },
  )
})
