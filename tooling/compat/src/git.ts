import { execFileSync } from 'node:child_process'

/** git's stdout in `cwd`, trimmed; throws with git's stderr when it fails. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
}

export function lines(text: string): string[] {
  return text.split('\n').filter(Boolean)
}
