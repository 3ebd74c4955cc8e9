import { execFile } from 'node:child_process'
import { RolloutError } from './errors.ts'

export interface Result {
  code: number
  stdout: string
  stderr: string
}

export type Env = Record<string, string>

/**
 * Runs a command to its end and returns its exit code and output (it never throws for a non-zero
 * exit: the caller decides what that means). The child gets this process's environment plus `env`:
 * the new tag reaches `docker compose` as the variable the compose file interpolates.
 */
export function exec(file: string, args: string[], env: Env = {}, timeoutMs = 600_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      // biome-ignore lint/style/noProcessEnv: the child inherits the caller's environment (DOCKER_HOST, the compose variables), plus the tag
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const e = error as (NodeJS.ErrnoException & { code?: number | string }) | null
        if (e && e.code === 'ENOENT') {
          reject(new RolloutError(`${file} not found: the rollout drives the ${file} CLI`))
          return
        }
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr })
      },
    )
  })
}

/** The last `n` non-empty lines of a command's output, for an error message. */
export function tail(text: string, n = 20): string {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-n)
    .join('\n')
}
