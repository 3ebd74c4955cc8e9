import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { RolloutError } from '../src/errors.ts'
import { acquireLock, lockPath } from '../src/lock.ts'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rollout-lock-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('the rollout lock', () => {
  it('admits one rollout per project and frees it on release', () => {
    const a = acquireLock('stack', dir)
    expect(() => acquireLock('stack', dir)).toThrow(RolloutError)
    expect(() => acquireLock('stack', dir)).toThrow(/another rollout of project stack is running \(pid \d+/)
    // Another project is independent.
    const other = acquireLock('stack-staging', dir)
    a.release()
    expect(existsSync(a.path)).toBe(false)
    acquireLock('stack', dir).release()
    other.release()
  })

  it('is taken over when its holder was killed with SIGKILL (no release ran)', async () => {
    const lockModule = fileURLToPath(new URL('../src/lock.ts', import.meta.url))
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { acquireLock } from '${lockModule}'; acquireLock('stack', '${dir}'); console.log('held'); setInterval(() => {}, 1000)`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
    const held = JSON.parse(readFileSync(lockPath('stack', dir), 'utf8')) as { pid: number }
    expect(held.pid).toBe(child.pid)
    expect(() => acquireLock('stack', dir)).toThrow(/another rollout/)
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
    // The file is still there: only the dead pid makes it stale.
    expect(existsSync(lockPath('stack', dir))).toBe(true)
    const lock = acquireLock('stack', dir)
    expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(process.pid)
    lock.release()
  })

  it('takes over an unreadable lock file, and refuses one held from another host', () => {
    writeFileSync(lockPath('stack', dir), '')
    acquireLock('stack', dir).release()
    writeFileSync(
      lockPath('stack', dir),
      JSON.stringify({ pid: 1, host: `not-${hostname()}`, project: 'stack', since: 'x' }),
    )
    expect(() => acquireLock('stack', dir)).toThrow(/on not-/)
  })

  it('release leaves a lock that another rollout took over in place', () => {
    const a = acquireLock('stack', dir)
    writeFileSync(
      a.path,
      JSON.stringify({ pid: process.pid + 1, host: hostname(), project: 'stack', since: 'x' }),
    )
    a.release()
    expect(existsSync(a.path)).toBe(true)
  })
})
