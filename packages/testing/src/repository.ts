import { execFileSync } from 'node:child_process'
import { appendFileSync, cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// A throwaway copy of the repository, for tests that must change it as a user would (run the
// generator, edit the shared deploy config) without touching the checkout they run in. It is a git
// repository of its own because the generator, like a user's checkout, lists files with git.

export interface CopyOptions {
  /** The temporary directory's name starts with it. */
  prefix?: string
}

/**
 * What `git ls-files` lists in `root` (tracked, or new and not ignored), as it is on disk now, copied
 * into a new temporary directory and committed there, so that `git status` in the copy shows what a
 * command changed. No node_modules: a test that needs them installs from the pnpm store.
 */
export function copyRepository(root: string, options: CopyOptions = {}): string {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  const copy = mkdtempSync(join(tmpdir(), options.prefix ?? 'repository-copy-'))
  try {
    for (const file of listed.split('\0').filter(Boolean)) {
      // A tracked file deleted in the working tree is listed and absent: the copy is the tree on disk.
      const from = join(root, file)
      if (existsSync(from)) cpSync(from, join(copy, file), { preserveTimestamps: true })
    }
    commitAll(copy, 'copy')
  } catch (error) {
    removeRepository(copy)
    throw error
  }
  return copy
}

/** Commits everything in a copy (initialising its repository the first time). */
export function commitAll(copy: string, message: string): void {
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.test', ...args], {
      cwd: copy,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
  if (!existsSync(join(copy, '.git'))) {
    git('init', '-q')
    // A symlinked node_modules is not a directory, so .gitignore's `node_modules/` misses it.
    appendFileSync(join(copy, '.git/info/exclude'), 'node_modules\n')
  }
  git('add', '-A')
  git('commit', '-q', '--allow-empty', '--no-verify', '-m', message)
}

export function removeRepository(copy: string | undefined): void {
  if (copy) rmSync(copy, { recursive: true, force: true })
}
