import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

/** The repository root: the nearest directory at or above `from` with a pnpm-workspace.yaml. */
export function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir
    if (dirname(dir) === dir) throw new Error(`no pnpm-workspace.yaml at or above ${from}`)
  }
}

/** What generation reads of the repository, before anything is planned. */
export interface Repo {
  root: string
  /** The files git knows of (tracked, or new and not ignored), relative to the root. */
  files: string[]
  read(path: string): string
}

export function readRepo(root: string): Repo {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  const files = listed
    .split('\0')
    .filter((f) => f !== '' && existsSync(join(root, f)))
    .sort()
  return { root, files, read: (path) => readFileSync(join(root, path), 'utf8') }
}

/**
 * The deploy config that can name a service: the root compose files, deploy/ (its tests and fixtures
 * aside: they are examples, not the stack) and every app's compose file and kustomize directory.
 */
export function deployFiles(repo: Repo): string[] {
  return repo.files.filter(
    (f) =>
      /\.ya?ml$/.test(f) &&
      (/^compose[^/]*$/.test(f) ||
        (f.startsWith('deploy/') && !f.startsWith('deploy/test/')) ||
        /^apps\/[^/]+\/(compose\.ya?ml|k8s\/.*)$/.test(f)),
  )
}

/** The workspace packages' names (apps/*, packages/*, tooling/*, deploy, ...), with where each is declared. */
export function packageNames(repo: Repo): Map<string, string> {
  const names = new Map<string, string>()
  for (const file of repo.files.filter((f) => /^([^/]+\/){1,2}package\.json$/.test(f))) {
    const name = (JSON.parse(repo.read(file)) as { name?: unknown }).name
    if (typeof name === 'string' && !names.has(name)) names.set(name, file)
  }
  return names
}

/**
 * Local development ports for a new service: one above the highest default of any app's
 * src/config.ts (`PORT: port({ default: 3001 })`), starting above the stack's own 3000 and 9464.
 * Containers do not use them: compose and Kubernetes run every service on 3000 and 9464.
 */
export function nextPorts(repo: Repo): { port: number; metricsPort: number } {
  const http = [3000]
  const metrics = [9464]
  for (const file of repo.files.filter((f) => /^apps\/[^/]+\/src\/config\.ts$/.test(f))) {
    const text = repo.read(file)
    for (const [, key, value] of text.matchAll(/\b(METRICS_PORT|PORT): port\(\{ default: (\d+) \}\)/g)) {
      ;(key === 'PORT' ? http : metrics).push(Number(value))
    }
  }
  return { port: Math.max(...http) + 1, metricsPort: Math.max(...metrics) + 1 }
}
