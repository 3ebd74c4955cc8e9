import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parseOptions } from '../src/args.ts'
import { UsageError } from '../src/errors.ts'

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url))

describe('pnpm rollout arguments', () => {
  it('takes services, a tag and the compose flags', () => {
    const o = parseOptions([
      'api',
      'orders',
      '--tag',
      'v2',
      '-p',
      'prod',
      '-f',
      'a.yaml',
      '-f',
      'b.yaml',
      '--timeout',
      '60',
    ])
    expect(o).toMatchObject({
      services: ['api', 'orders'],
      tag: 'v2',
      rollback: false,
      project: 'prod',
      files: ['a.yaml', 'b.yaml'],
      timeoutMs: 60_000,
      batch: 1,
      proxyCheck: true,
    })
  })

  it('--to is the same release procedure, marked as a rollback', () => {
    expect(parseOptions(['--to', 'v1.4.2'])).toMatchObject({ services: [], tag: 'v1.4.2', rollback: true })
  })

  it.each([
    [[], /release to roll out is missing/],
    [['--tag', 'v2', '--to', 'v1'], /not both/],
    [['--tag', 'bad tag'], /not a Docker image tag/],
    [['--tag', '-x'], /not a Docker image tag|argument missing|ambiguous/],
    [['--tag', 'v2', '--timeout', '0'], /--timeout must be a whole number/],
    [['--tag', 'v2', '--batch', 'two'], /--batch must be a whole number/],
    [['--tag', 'v2', '--proxy-url', 'not a url'], /not a URL/],
    [['--tag', 'v2', '--proxy-url', 'ftp://x'], /http: or https:/],
    [['--tag', 'v2', '--no-proxy-check', '--proxy-url', 'http://x'], /contradicts/],
    [['--tag', 'v2', 'api!'], /not a compose service name/],
    [['--tag', 'v2', '--frobnicate'], /Unknown option/],
  ])('rejects %j', (argv, reason) => {
    expect(() => parseOptions(argv as string[])).toThrow(UsageError)
    expect(() => parseOptions(argv as string[])).toThrow(reason)
  })

  it('exits 2 with a one-line reason and the usage for bad input, touching nothing', () => {
    const r = spawnSync(process.execPath, [cli, '--tag', 'v2', '--batch', '0'], { encoding: 'utf8' })
    expect(r.status).toBe(2)
    const lines = r.stderr.trim().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toBe('rollout: --batch must be a whole number from 1 to 100, got "0"')
    expect(lines[1]).toMatch(/^usage: pnpm rollout/)
    expect(r.stdout).toBe('')
  })

  it('--help prints the usage and exits 0', () => {
    const r = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' })
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^usage: pnpm rollout/)
  })
})
