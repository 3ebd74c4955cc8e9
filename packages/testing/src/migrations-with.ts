import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A copy of a service's migrations folder (`base`, drizzle-kit's layout) in a new temporary
 * directory, with `extra` appended as drizzle-kit would have written them: each its own `.sql` file
 * and a journal entry a second after the last. The caller removes the directory when it is done.
 */
export function migrationsWith(base: string, extra: { tag: string; sql: string }[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'))
  cpSync(base, dir, { recursive: true })
  const journalPath = join(dir, 'meta', '_journal.json')
  const journal = JSON.parse(readFileSync(journalPath, 'utf8'))
  let when = journal.entries.at(-1).when
  for (const m of extra) {
    when += 1000
    journal.entries.push({ idx: journal.entries.length, version: '7', when, tag: m.tag, breakpoints: true })
    writeFileSync(join(dir, `${m.tag}.sql`), m.sql)
  }
  writeFileSync(journalPath, JSON.stringify(journal, null, 2))
  return dir
}
