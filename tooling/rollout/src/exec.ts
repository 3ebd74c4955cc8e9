import { spawn } from 'node:child_process'
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
    const child = spawn(file, args, {
      // biome-ignore lint/style/noProcessEnv: the child inherits the caller's environment (DOCKER_HOST, the compose variables), plus the tag
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C in the terminal reaches the rollout only, which decides
      // (roll back, or finish the drain) instead of a `docker stop` or `compose up` cut halfway.
      detached: true,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs)
    timer.unref()
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(
        error.code === 'ENOENT'
          ? new RolloutError(`${file} not found: the rollout drives the ${file} CLI`)
          : new RolloutError(`${file} could not run: ${error.message}`),
      )
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const timedOut =
        signal !== null ? `\n${file} ${args[0]} stopped by ${signal} (timeout ${timeoutMs} ms)` : ''
      resolve({ code: code ?? 1, stdout, stderr: stderr + timedOut })
    })
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
