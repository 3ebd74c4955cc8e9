import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'
import { repoRoot } from './model.js'

export interface DockerCli {
  /** `docker <args>`: its stdout; a failure throws with Docker's own message. */
  docker(args: string[], timeoutMs?: number, input?: string): string
  /** `docker compose` of the suite's project, on its files: its stdout. */
  compose(args: string[], timeoutMs?: number): string
  /** `compose -p <project> --project-directory … -f …`: the arguments that name the project. */
  composeArgs: string[]
  imagePresent(name: string): boolean
}

/**
 * The Docker CLI as an end-to-end suite drives it: with the environment `env()` gives at each call
 * (a suite's tag variables change between steps), on the compose `files` of the repository (relative
 * to its root) under the project name `project`, never with the developer's `.env`.
 */
export function dockerCli(options: {
  env: () => NodeJS.ProcessEnv
  project: string
  files: string[]
  composeTimeoutMs?: number
}): DockerCli {
  const docker: DockerCli['docker'] = (args, timeoutMs = 120_000, input) => {
    try {
      return execFileSync('docker', args, {
        encoding: 'utf8',
        env: options.env(),
        timeout: timeoutMs,
        ...(input !== undefined ? { input } : {}),
        stdio: [input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
        maxBuffer: 64 * 1024 * 1024,
      })
    } catch (error) {
      const e = error as { stderr?: string; stdout?: string; message: string }
      throw new Error(`docker ${args.slice(0, 8).join(' ')} failed:\n${e.stderr || e.stdout || e.message}`)
    }
  }
  const composeArgs = [
    'compose',
    '-p',
    options.project,
    '--project-directory',
    repoRoot,
    '--env-file',
    '/dev/null',
    ...options.files.flatMap((file) => ['-f', resolve(repoRoot, file)]),
  ]
  return {
    docker,
    composeArgs,
    compose(args, timeoutMs = options.composeTimeoutMs ?? 180_000) {
      // Docker 20.10 (Debian's, on these machines) sometimes still counts a container it has just
      // removed as an endpoint of its network, and `down` then fails to remove the network ("has
      // active endpoints") though every container is gone. A second `down` a moment later removes it.
      for (let attempt = 1; ; attempt++) {
        try {
          return docker([...composeArgs, ...args], timeoutMs)
        } catch (error) {
          const raced =
            args[0] === 'down' && String((error as Error).message).includes('has active endpoints')
          if (!raced || attempt === 3) throw error
          execFileSync('sleep', ['2'])
        }
      }
    },
    imagePresent(name) {
      try {
        execFileSync('docker', ['image', 'inspect', name], { env: options.env(), stdio: 'ignore' })
        return true
      } catch {
        return false
      }
    },
  }
}
