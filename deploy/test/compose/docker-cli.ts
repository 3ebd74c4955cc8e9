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
  /**
   * A bearer token from the stack's development issuer (compose.yaml's dev-issuer), as a person gets
   * one: `docker compose exec -T dev-issuer node dist/token.js <args>`.
   */
  token(args?: string[]): string
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
  const cli: DockerCli = {
    docker,
    composeArgs,
    token(args = []) {
      const token = cli.compose(['exec', '-T', 'dev-issuer', 'node', 'dist/token.js', ...args], 60_000).trim()
      if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) throw new Error(`dev-issuer printed no token: ${token}`)
      return token
    },
    compose(args, timeoutMs = options.composeTimeoutMs ?? 180_000) {
      try {
        return docker([...composeArgs, ...args], timeoutMs)
      } catch (error) {
        if (args[0] !== 'down' || !String((error as Error).message).includes('has active endpoints'))
          throw error
        // Docker 20.10 (Debian's, on these machines) at times keeps a stale endpoint of a removed
        // container on a network: `down` then removes every container but not that network, and no
        // retry helps. With no container of the project left, the suite has what it needs (a later
        // `up` reuses the network); the leftover is named so it can be removed by hand.
        const left = docker([
          'ps',
          '-aq',
          '--filter',
          `label=com.docker.compose.project=${options.project}`,
        ]).trim()
        if (left !== '') throw error
        console.warn(
          `docker compose down: every container is gone, a network is left (Docker's stale endpoint): ${(error as Error).message.split('\n').find((l) => l.includes('has active endpoints'))}`,
        )
        return ''
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
  return cli
}
