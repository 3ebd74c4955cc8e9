import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type Compose,
  devFiles,
  dockerAvailable,
  loadPlain,
  loadWithDocker,
  prodEnv,
  prodFiles,
} from './model.js'

// "A value that is the same for every service is written once": in a copy of the repository with
// two more services rendered from the generator's compose template (one with a database, one
// without; names no app in apps/ uses, a `-` in each), a drain delay and a grace period changed in deploy/compose/node-service.yaml
// reach all of them, as both loaders (the plain one everywhere, `docker compose config` where the
// Docker CLI is) read them.

const repoRoot = new URL('../../../', import.meta.url).pathname
const template = join(repoRoot, 'tooling/new-service/template/common')
const shared = 'deploy/compose/node-service.yaml'
const docker = dockerAvailable()
const WITH_DB = 'shared-probe-db'
const WITHOUT_DB = 'shared-probe'

/** The template placeholders and `{{#db}}` / `{{^db}}` blocks on lines of their own (see the design). */
function render(text: string, name: string, db: boolean): string {
  const keep: boolean[] = []
  const lines = text.split('\n').filter((line) => {
    const marker = /^\{\{([#^/])db\}\}$/.exec(line.trim())
    if (!marker) return keep.every(Boolean)
    if (marker[1] === '/') keep.pop()
    else keep.push((marker[1] === '#') === db)
    return false
  })
  return lines
    .join('\n')
    .replaceAll('__NAME__', name)
    .replaceAll('__ENV__', name.toUpperCase().replaceAll('-', '_'))
}

/** `# new-service: <item>` marker lines: the rendered item goes after the items below the marker. */
function addToLists(root: string, file: string, name: string): void {
  const lines = readFileSync(join(root, file), 'utf8').split('\n')
  const at = lines.findIndex((l) => /#\s*new-service:\s/.test(l))
  if (at < 0) throw new Error(`${file}: no new-service marker`)
  const [, indent, item] = /^(\s*)#\s*new-service:\s(.*)$/.exec(lines[at] as string) as unknown as [
    string,
    string,
    string,
  ]
  let end = at + 1
  while (lines[end]?.startsWith(`${indent}- `)) end++
  lines.splice(end, 0, `${indent}${item.replaceAll('__NAME__', name)}`)
  writeFileSync(join(root, file), lines.join('\n'))
}

/** A service as `pnpm new-service` would lay down its compose side: its two files, its list lines. */
function addService(root: string, name: string, db: boolean): void {
  const dir = join(root, 'apps', name)
  mkdirSync(dir, { recursive: true })
  for (const file of ['compose.yaml', 'compose.env']) {
    writeFileSync(join(dir, file), render(readFileSync(join(template, `${file}.tmpl`), 'utf8'), name, db))
  }
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: `@stack/${name}`, dependencies: db ? { '@stack/db': 'workspace:*' } : {} }),
  )
  if (db) {
    const api = readFileSync(join(root, 'deploy/compose/secrets/api-database-url.txt'), 'utf8')
    writeFileSync(
      join(root, `deploy/compose/secrets/${name}-database-url.txt`),
      api.replace(/\/[^/?]+(\?|$)/, `/${name.replaceAll('-', '_')}$1`),
    )
  }
  addToLists(root, 'compose.yaml', name)
  addToLists(root, 'deploy/observability/prometheus.yml', name)
}

/** The files Compose reads, copied as git knows them (tracked or not ignored), nothing else. */
function copyRepository(): string {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repoRoot,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`)
  const root = mkdtempSync(join(tmpdir(), 'compose-shared-'))
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    if (
      !/^(compose[^/]*\.yaml|apps\/[^/]+\/(compose\.yaml|compose\.env|package\.json)|deploy\/(compose|observability)\/.*)$/.test(
        file,
      )
    )
      continue
    mkdirSync(dirname(join(root, file)), { recursive: true })
    cpSync(join(repoRoot, file), join(root, file))
  }
  return root
}

let root = ''
beforeAll(() => {
  root = copyRepository()
  addService(root, WITH_DB, true)
  addService(root, WITHOUT_DB, false)
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

type Loader = (files: string[], env?: Record<string, string>) => Compose
const plain: Loader = (files, env) => loadPlain(files, env, root)
const withDocker: Loader = (files, env) => loadWithDocker(files, env, root)
const loaders: [string, Loader][] = [
  ['plain YAML', plain],
  ...(docker ? [['docker compose config', withDocker] as [string, Loader]] : []),
]

const NODE_SERVICES = ['api', WITH_DB, WITHOUT_DB]

describe.each(loaders)('%s', (_label, load) => {
  it('the copy runs the API and both rendered services, each with the shared definition', () => {
    const compose = load(devFiles)
    for (const name of NODE_SERVICES) {
      const s = compose.services[name]
      expect(s?.environment.SHUTDOWN_DELAY_MS, name).toBe('5000')
      expect(s?.stopGracePeriodMs, name).toBe(20_000)
      // The label keys carry the service's own name (STACK_APP from its compose.env).
      expect(s?.labels[`traefik.http.services.${name}.loadbalancer.healthcheck.interval`], name).toBe('1s')
      expect(s?.labels[`traefik.http.routers.${name}.rule`], name).toBe(`Host(\`${name}.localhost\`)`)
    }
    // With a database: its createdb and migrator, its own secret; without: none, and not on backend.
    expect(compose.services[`migrate-${WITH_DB}`]?.secrets).toEqual([`${WITH_DB}-database-url`])
    expect(compose.services[`createdb-${WITH_DB}`]?.dependsOn).toEqual({ postgres: 'service_healthy' })
    expect(compose.services[WITH_DB]?.dependsOn).toEqual({
      postgres: 'service_healthy',
      [`migrate-${WITH_DB}`]: 'service_completed_successfully',
    })
    expect(compose.services[WITH_DB]?.environment.DATABASE_APPLICATION_NAME).toBe(`stack-${WITH_DB}`)
    const plain = compose.services[WITHOUT_DB]
    expect(plain?.secrets).toEqual([])
    expect(plain?.dependsOn).toEqual({})
    expect(Object.keys(compose.services).filter((n) => n.endsWith(`-${WITHOUT_DB}`))).toEqual([])
    expect(plain?.environment.DATABASE_URL_FILE).toBeUndefined()
  })

  it('a shared value changed in deploy/compose/node-service.yaml reaches every service', () => {
    const before = readFileSync(join(root, shared), 'utf8')
    const after = before
      .replace('SHUTDOWN_DELAY_MS: "5000"', 'SHUTDOWN_DELAY_MS: "4000"')
      .replace('stop_grace_period: 20s', 'stop_grace_period: 27s')
    expect(after).not.toBe(before)
    writeFileSync(join(root, shared), after)
    try {
      for (const [files, env] of [
        [devFiles, {}],
        [prodFiles, { ...prodEnv, SECRETS_DIR: join(root, 'deploy/compose/secrets') }],
      ] as const) {
        const compose = load([...files], env)
        for (const name of NODE_SERVICES) {
          expect(compose.services[name]?.environment.SHUTDOWN_DELAY_MS, name).toBe('4000')
          expect(compose.services[name]?.stopGracePeriodMs, name).toBe(27_000)
        }
      }
    } finally {
      writeFileSync(join(root, shared), before)
    }
  })
})

it.runIf(docker)(
  'the plain loader reads the copy, with its include, extends and env_file, as docker compose does',
  () => {
    expect(loadPlain(devFiles, {}, root)).toEqual({
      ...loadWithDocker(devFiles, {}, root),
      source: expect.any(String),
    })
    const env = { ...prodEnv, SECRETS_DIR: join(root, 'deploy/compose/secrets') }
    expect(loadPlain(prodFiles, env, root).services).toEqual(loadWithDocker(prodFiles, env, root).services)
  },
)

it('each value every Node service shares is set in one compose file, deploy/compose/node-service.yaml', () => {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repoRoot,
    encoding: 'utf8',
  })
  const files = listed.stdout
    .split('\0')
    .filter((f) => /^(compose[^/]*\.yaml|apps\/[^/]+\/compose\.yaml|deploy\/compose\/.*\.ya?ml)$/.test(f))
  expect(files).toContain(shared)
  const keys = [
    'SHUTDOWN_DELAY_MS',
    'SHUTDOWN_TIMEOUT_MS',
    'KEEP_ALIVE_TIMEOUT_MS',
    'REQUEST_TIMEOUT_MS',
    'TRUST_PROXY',
    'NODE_OPTIONS',
    'MIGRATE_LOCK_TIMEOUT_MS',
    'loadbalancer.healthcheck.interval',
    'loadbalancer.healthcheck.timeout',
    'loadbalancer.serverstransport',
  ]
  for (const key of keys) {
    // A line that sets it (`KEY: value` or a `...key=value` label), comments aside.
    const setting = new RegExp(`^\\s*(-\\s*)?[^#]*\\b${key.replaceAll('.', '\\.')}(:\\s|=)`)
    const where = files.filter((f) =>
      readFileSync(join(repoRoot, f), 'utf8')
        .split('\n')
        .some((line) => setting.test(line)),
    )
    expect(where, key).toEqual([shared])
  }
})
