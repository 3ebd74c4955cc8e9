import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Plan } from '../src/plan.ts'

let root: string
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'new-service-plan-'))
  writeFileSync(join(root, 'kept.yaml'), 'before\n')
})
afterEach(() => rmSync(root, { recursive: true, force: true }))

function plan(): Plan {
  const p = new Plan(root)
  p.create('apps/x/src/a.ts', 'a\n')
  p.update('kept.yaml', (text) => `${text}after\n`)
  p.create('apps/x/b.ts', 'b\n')
  return p
}

describe('Plan', () => {
  it('writes new files and changes', () => {
    plan().apply()
    expect(readFileSync(join(root, 'apps/x/src/a.ts'), 'utf8')).toBe('a\n')
    expect(readFileSync(join(root, 'kept.yaml'), 'utf8')).toBe('before\nafter\n')
    expect(readdirSync(join(root, 'apps/x')).sort()).toEqual(['b.ts', 'src'])
  })

  it('puts everything back when a write fails part way', () => {
    let calls = 0
    const failSecond = (from: string, to: string) => {
      if (++calls === 3) throw new Error('disk full')
      renameSync(from, to)
    }
    expect(() => plan().apply(failSecond)).toThrow('disk full')
    expect(readFileSync(join(root, 'kept.yaml'), 'utf8')).toBe('before\n')
    expect(existsSync(join(root, 'apps'))).toBe(false)
    expect(readdirSync(root)).toEqual(['kept.yaml'])
  })

  it('refuses a file that exists, and a file changed after it was read', () => {
    expect(() => new Plan(root).create('kept.yaml', 'x')).toThrow('kept.yaml already exists')
    const p = plan()
    writeFileSync(join(root, 'kept.yaml'), 'edited meanwhile\n')
    expect(() => p.apply()).toThrow('kept.yaml changed while the service was being generated')
    expect(readFileSync(join(root, 'kept.yaml'), 'utf8')).toBe('edited meanwhile\n')
    expect(readdirSync(root)).toEqual(['kept.yaml'])
  })
})
