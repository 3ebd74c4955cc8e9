import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { git } from './git.ts'

/** A detached worktree of `rev` in a temporary directory, removed by `remove()`. */
export function addWorktree(root: string, rev: string) {
  const dir = join(mkdtempSync(join(tmpdir(), 'compat-base-')), 'repo')
  git(root, 'worktree', 'add', '--detach', dir, rev)
  return {
    dir,
    remove() {
      try {
        git(root, 'worktree', 'remove', '--force', dir)
      } finally {
        rmSync(join(dir, '..'), { recursive: true, force: true })
        git(root, 'worktree', 'prune')
      }
    },
  }
}
