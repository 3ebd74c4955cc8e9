import { type SpawnSyncReturns, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { get as httpGet } from 'node:http'
import { get as httpsGet } from 'node:https'
import { arch, homedir, platform } from 'node:os'
import { join } from 'node:path'

// promtool for the alert-rule tests, got as the harness gets PostgreSQL: from PATH, else from the
// pinned prom/prometheus image through a Docker engine, else from the official release archive,
// checked against its pinned sha256 and cached outside the repository. The image and the archive are
// the same release; Debian bookworm's `prometheus` package (what .ci/run installs) is 2.42.0 too.

export const PROMETHEUS_VERSION = '2.42.0'
export const PROMETHEUS_IMAGE = `prom/prometheus:v${PROMETHEUS_VERSION}`
export const RELEASES = 'https://github.com/prometheus/prometheus/releases/download'
/** sha256 of each release archive, from the release's sha256sums.txt. */
export const ARCHIVE_SHA256: Readonly<Record<string, string>> = {
  'linux-amd64': '422dab055ed9c7bcaff52b718705f9192c6fac0de6b7e78dd278e70ee2663dcc',
}

export const INSTALL_PROMTOOL =
  'promtool was not found on PATH, no Docker engine could run ' +
  `${PROMETHEUS_IMAGE} and the release archive could not be downloaded. The alert-rule tests run it; ` +
  'on Debian or Ubuntu install it with ' +
  '`sudo apt-get update && sudo apt-get install -y --no-install-recommends prometheus` (the package ' +
  'ships promtool; stop the Prometheus service it starts: `sudo systemctl disable --now prometheus`), ' +
  'or put the promtool binary from a Prometheus release on PATH.'

export interface Promtool {
  route: 'path' | 'docker' | 'download'
  /** What was run: a path, or the docker command line's image. */
  source: string
  run(args: string[], cwd: string): { status: number; output: string }
}

export interface FindOptions {
  /** PATH to search (this process's by default). */
  path?: string
  image?: string
  /** Only paths under this directory are visible to promtool in a container (mounted read-only). */
  mount: string
  releases?: string
  version?: string
  sha256?: Readonly<Record<string, string>>
  cacheDir?: string
  /** Connect and inactivity timeout of the download. */
  downloadTimeoutMs?: number
}

/** The first route that gives a working promtool, or why none did (one line per route). */
export async function findPromtool(options: FindOptions): Promise<Promtool | { reasons: string[] }> {
  const reasons: string[] = []
  for (const route of [fromPath, fromImage, fromRelease]) {
    const found = await route(options)
    if (typeof found !== 'string') return found
    reasons.push(found)
  }
  return { reasons }
}

/** The promtool found, or the failure that says how to install one and why each route failed. */
export function required(found: Promtool | { reasons: string[] }): Promtool {
  if ('route' in found) return found
  throw new Error(`${INSTALL_PROMTOOL} (${found.reasons.join('; ')})`)
}

function local(route: 'path' | 'download', binary: string, env?: NodeJS.ProcessEnv): Promtool {
  return {
    route,
    source: binary,
    run: (args, cwd) => output(spawnSync(binary, args, { cwd, env, encoding: 'utf8' })),
  }
}

function output(result: SpawnSyncReturns<string>): { status: number; output: string } {
  if (result.error) throw result.error
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` }
}

/** Prints its version: a binary that is there but does not run is no promtool. */
function answers(run: Promtool['run'], cwd: string): boolean {
  try {
    return /promtool, version/.test(run(['--version'], cwd).output)
  } catch {
    return false
  }
}

export async function fromPath(options: FindOptions): Promise<Promtool | string> {
  const env = options.path === undefined ? undefined : { ...process.env, PATH: options.path }
  const tool = local('path', 'promtool', env)
  return answers(tool.run, options.mount) ? tool : 'PATH: no promtool'
}

export async function fromImage(options: FindOptions): Promise<Promtool | string> {
  const image = options.image ?? PROMETHEUS_IMAGE
  const docker = (args: string[], timeout: number) =>
    spawnSync('docker', args, { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] })
  const info = docker(['version', '--format', '{{.Server.Version}}'], 30_000)
  if (info.error || info.status !== 0) return 'Docker: no engine answers'
  if (docker(['image', 'inspect', image], 30_000).status !== 0) {
    // A registry that cannot be reached fails at once; a slow pull of ~90 MB gets its time.
    const pull = docker(['pull', '--quiet', image], 600_000)
    if (pull.status !== 0) {
      const why = `${pull.stderr ?? ''}`.trim().split('\n').at(-1) ?? ''
      return `Docker: ${image} is not here and cannot be pulled (${why || pull.error?.message})`
    }
  }
  const user = process.getuid && process.getgid ? ['--user', `${process.getuid()}:${process.getgid()}`] : []
  const tool: Promtool = {
    route: 'docker',
    source: image,
    run: (args, cwd) =>
      output(
        spawnSync(
          'docker',
          [
            'run',
            '--rm',
            '--network=none',
            ...user,
            `--volume=${options.mount}:${options.mount}:ro`,
            `--workdir=${cwd}`,
            '--entrypoint=/bin/promtool',
            image,
            ...args,
          ],
          { encoding: 'utf8', timeout: 120_000 },
        ),
      ),
  }
  return answers(tool.run, options.mount) ? tool : `Docker: ${image} does not run promtool`
}

/** The release archives' name for this machine: linux-amd64, darwin-arm64... */
export function releaseTarget(): string {
  return `${platform()}-${arch() === 'x64' ? 'amd64' : arch()}`
}

/** $XDG_CACHE_HOME/stack, else ~/.cache/stack: outside the repository, kept between runs. */
export function cacheRoot(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'stack')
}

export async function fromRelease(options: FindOptions): Promise<Promtool | string> {
  const version = options.version ?? PROMETHEUS_VERSION
  const target = releaseTarget()
  const sha256 = (options.sha256 ?? ARCHIVE_SHA256)[target]
  const name = `prometheus-${version}.${target}`
  const url = `${options.releases ?? RELEASES}/v${version}/${name}.tar.gz`
  if (!sha256) return `download: no pinned sha256 for ${name}.tar.gz, so it is not run`
  const dir = join(options.cacheDir ?? join(cacheRoot(), 'promtool'), `${name}-${sha256.slice(0, 12)}`)
  const binary = join(dir, 'promtool')
  if (!existsSync(binary)) {
    try {
      const archive = await download(url, options.downloadTimeoutMs ?? 15_000)
      const actual = createHash('sha256').update(archive).digest('hex')
      if (actual !== sha256) return `download: ${url} has sha256 ${actual}, not the pinned ${sha256}: refused`
      await extract(archive, `${name}/promtool`, dir)
    } catch (error) {
      return `download: ${url}: ${(error as Error).message}`
    }
  }
  const tool = local('download', binary)
  return answers(tool.run, options.mount) ? tool : `download: ${binary} does not run`
}

/** The whole body; fails on a status other than 200 (after redirects) or when the peer is silent. */
function download(url: string, timeoutMs: number, redirects = 5): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet
    const request = get(url, { timeout: timeoutMs }, (res) => {
      const status = res.statusCode ?? 0
      if (status >= 300 && status < 400 && res.headers.location && redirects > 0) {
        res.resume()
        download(new URL(res.headers.location, url).href, timeoutMs, redirects - 1).then(resolve, reject)
        return
      }
      if (status !== 200) {
        res.resume()
        reject(new Error(`HTTP ${status}`))
        return
      }
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve(Buffer.concat(chunks)))
      res.on('error', reject)
    })
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    request.on('error', reject)
  })
}

/** Extracts one member of a verified .tar.gz into `dir`, which appears whole or not at all. */
async function extract(archive: Buffer, member: string, dir: string): Promise<void> {
  await mkdir(join(dir, '..'), { recursive: true })
  const staging = await mkdtemp(`${dir}.partial-`)
  try {
    await writeFile(join(staging, 'archive.tar.gz'), archive)
    const tar = spawnSync('tar', ['-xzf', 'archive.tar.gz', '--strip-components=1', member], {
      cwd: staging,
      encoding: 'utf8',
    })
    if (tar.error || tar.status !== 0) throw new Error(`tar: ${tar.error?.message ?? tar.stderr.trim()}`)
    await rm(join(staging, 'archive.tar.gz'))
    await rename(staging, dir).catch(async (error) => {
      if (!existsSync(join(dir, 'promtool'))) throw error // else another run cached it first
    })
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}
