import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  findPromtool,
  fromImage,
  fromPath,
  fromRelease,
  PROMETHEUS_VERSION,
  releaseTarget,
  required,
} from './promtool.js'

// Each route by which the alert tests get promtool, for real where this machine allows: PATH with
// and without a promtool, the image route's fall-through when the image is absent, and the download
// route against an HTTP server on 127.0.0.1 serving a release-shaped archive built here (with the
// right and a wrong checksum). The `promtool` in these fixtures only prints a version: the alert
// tests never use it, they look for promtool themselves.

const work = mkdtempSync(join(tmpdir(), 'stack-promtool-test-'))
const name = `prometheus-${PROMETHEUS_VERSION}.${releaseTarget()}`
const fake = '#!/bin/sh\necho "promtool, version 2.42.0 (fixture)"\n'
let server: Server
let releases: string
let archiveSha256: string
let requests: string[]

beforeAll(async () => {
  // An archive laid out as a release's: prometheus-<v>.<os>-<arch>/promtool.
  mkdirSync(join(work, 'release', name), { recursive: true })
  writeFileSync(join(work, 'release', name, 'promtool'), fake, { mode: 0o755 })
  const tar = spawnSync('tar', ['-czf', `${name}.tar.gz`, name], { cwd: join(work, 'release') })
  expect(tar.status).toBe(0)
  const archive = readFileSync(join(work, 'release', `${name}.tar.gz`))
  archiveSha256 = createHash('sha256').update(archive).digest('hex')
  requests = []
  server = createServer((req, res) => {
    requests.push(req.url ?? '')
    if (req.url === `/v${PROMETHEUS_VERSION}/${name}.tar.gz`) res.end(archive)
    else res.writeHead(404).end()
  })
  server.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  releases = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve))
  rmSync(work, { recursive: true, force: true })
})

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => probe.once('listening', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise((resolve) => probe.close(resolve))
  return port
}

describe('promtool from PATH', () => {
  it('is used when PATH has it', async () => {
    const bin = join(work, 'bin')
    mkdirSync(bin, { recursive: true })
    writeFileSync(join(bin, 'promtool'), fake)
    chmodSync(join(bin, 'promtool'), 0o755)
    const found = await fromPath({ path: bin, mount: work })
    expect(typeof found === 'string' ? found : found.route).toBe('path')
    if (typeof found !== 'string') expect(found.run(['--version'], work).output).toContain('(fixture)')
  })

  it('is not there when PATH lacks it', async () => {
    mkdirSync(join(work, 'empty'), { recursive: true })
    expect(await fromPath({ path: join(work, 'empty'), mount: work })).toBe('PATH: no promtool')
  })
})

describe('promtool from the prom/prometheus image', () => {
  const docker = spawnSync('docker', ['version', '--format', '{{.Server.Version}}']).status === 0
  // An image laid out as prom/prometheus is (/bin/promtool), built here from a local base image; its
  // promtool prints its working directory and a file it is given, which must be this machine's, and
  // whether it could write there.
  const image = `stack-test/promtool-fixture:${process.pid}`
  const base = 'debian:bookworm-slim'
  afterAll(() => {
    if (docker) spawnSync('docker', ['rmi', '--force', image])
  })

  it(
    docker
      ? "runs promtool in the image, on this machine's files, read-only"
      : 'needs a Docker engine: none answers',
    async () => {
      if (!docker) {
        expect(await fromImage({ image, mount: work })).toBe('Docker: no engine answers')
        return
      }
      const script =
        '#!/bin/sh\necho "promtool, version 2.42.0 (fixture)"\n[ "$1" = show ] || exit 0\npwd\ncat "$2"\ntouch written 2>/dev/null && echo writable || echo read-only\n'
      const dockerfile = `FROM ${base}\nRUN printf '${script.replaceAll('\n', '\\n')}' > /bin/promtool && chmod 755 /bin/promtool\n`
      const build = spawnSync('docker', ['build', '--quiet', '--tag', image, '-'], {
        input: dockerfile,
        encoding: 'utf8',
        timeout: 600_000,
      })
      expect(build.status, `docker build: ${build.stderr}`).toBe(0)
      writeFileSync(join(work, 'rules.yml'), 'groups: []\n')
      const found = await fromImage({ image, mount: work })
      if (typeof found === 'string') throw new Error(found)
      expect(found.route).toBe('docker')
      const { status, output } = found.run(['show', 'rules.yml'], work)
      expect(output).toBe(`promtool, version 2.42.0 (fixture)\n${work}\ngroups: []\nread-only\n`)
      expect(status).toBe(0)
    },
  )

  it('falls through, saying why, when the image is neither here nor to be pulled', async () => {
    const found = await fromImage({ image: 'stack-test/absent-promtool:0', mount: work })
    expect(found).toMatch(
      /^Docker: (no engine answers|stack-test\/absent-promtool:0 is not here and cannot be pulled \(.+\))$/,
    )
  })
})

describe('promtool from the release archive', () => {
  it('downloads, verifies, extracts and caches it, and the next run takes the cached one', async () => {
    const cacheDir = join(work, 'cache-ok')
    const options = { mount: work, releases, cacheDir, sha256: { [releaseTarget()]: archiveSha256 } }
    requests = []
    const found = await fromRelease(options)
    if (typeof found === 'string') throw new Error(found)
    expect(found.route).toBe('download')
    expect(found.source.startsWith(cacheDir)).toBe(true)
    expect(found.run(['--version'], work).output).toContain('(fixture)')
    expect(requests).toEqual([`/v${PROMETHEUS_VERSION}/${name}.tar.gz`])

    const again = await fromRelease(options)
    expect(typeof again === 'string' ? again : again.source).toBe(found.source)
    expect(requests).toHaveLength(1)
  })

  it('refuses an archive whose sha256 is not the pinned one, and caches nothing', async () => {
    const cacheDir = join(work, 'cache-bad')
    const pinned = 'ab'.repeat(32)
    const found = await fromRelease({
      mount: work,
      releases,
      cacheDir,
      sha256: { [releaseTarget()]: pinned },
    })
    expect(found).toBe(
      `download: ${releases}/v${PROMETHEUS_VERSION}/${name}.tar.gz has sha256 ${archiveSha256}, not the pinned ${pinned}: refused`,
    )
    expect(existsSync(cacheDir) ? readdirSync(cacheDir, { recursive: true }) : []).toEqual([])
  })

  it('runs nothing for a platform without a pinned checksum', async () => {
    const found = await fromRelease({ mount: work, releases, cacheDir: join(work, 'cache-none'), sha256: {} })
    expect(found).toBe(`download: no pinned sha256 for ${name}.tar.gz, so it is not run`)
  })

  it('fails with the reason when the server cannot be reached', async () => {
    const unreachable = `http://127.0.0.1:${await closedPort()}`
    const found = await fromRelease({ mount: work, releases: unreachable, cacheDir: join(work, 'cache-off') })
    expect(found).toMatch(/^download: http:\/\/127\.0\.0\.1:\d+\/v.+\.tar\.gz: connect ECONNREFUSED/)
  })
})

describe('no promtool to be had', () => {
  it('fails the alert tests with the line that says how to install it, and why each route failed', async () => {
    mkdirSync(join(work, 'empty'), { recursive: true })
    const found = await findPromtool({
      path: join(work, 'empty'),
      image: 'stack-test/absent-promtool:0',
      mount: work,
      releases: `http://127.0.0.1:${await closedPort()}`,
      cacheDir: join(work, 'cache-none-to-be-had'),
    })
    expect(() => required(found)).toThrow(
      /^promtool was not found on PATH, .*apt-get install -y --no-install-recommends prometheus.* \(PATH: no promtool; Docker: .+; download: .+ECONNREFUSED.*\)$/,
    )
  })
})
