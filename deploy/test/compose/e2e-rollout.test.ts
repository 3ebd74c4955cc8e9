import { type ChildProcess, execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { commitAll, copyRepository, removeRepository } from '@stack/testing/repository'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dockerCli } from './docker-cli.js'
import { type Load, type LoadTarget, type Sample, startLoad, summarize } from './load.js'
import { devFiles, dockerEnv, loadPlain, repoRoot } from './model.js'

// Issue 15's proof: `pnpm rollout` under a constant open-loop load through a health-checking proxy,
// on a stack of 3 API replicas. v1 -> v2 (an expand migration and a new field), v2 -> v3 (replicas
// never ready: rolled back), v2 -> v4 (its migration fails: nothing touched), and back with --to.
// Not one request may fail. The proxy is the stack's Traefik where its image is on this machine,
// else HAProxy from Debian in a test-only image (./haproxy) that checks /health/ready the way the
// Traefik labels do; the output says which. Run by `pnpm --filter @stack/deploy test:e2e`.

const id = randomBytes(3).toString('hex')
const project = `stack-rollout-${id}`
const tags = { v1: `ro1-${id}`, v2: `ro2-${id}`, v3: `ro3-${id}`, v4: `ro4-${id}` }
const image = (tag: string) => `stack/api:${tag}`
const haproxyImage = `stack-test/haproxy:${id}`
const haproxyName = `${project}-haproxy`
const model = loadPlain(devFiles)
const traefikImage = model.services.traefik?.image as string
const REPLICAS = 3
/** Requests a second, one write in four. */
const RATE = 200
const rolloutCli = resolve(repoRoot, 'tooling/rollout/src/cli.ts')
const apiServices = ['postgres', 'dev-issuer', 'createdb-api', 'migrate-api', 'api']
/** The API's committed migrations: v1 applies them, v2 adds one (9001), v4 a failing one (9002). */
const committedMigrations = (
  JSON.parse(readFileSync(resolve(repoRoot, 'apps/api/drizzle/meta/_journal.json'), 'utf8')) as {
    entries: unknown[]
  }
).entries.length

const ports = {
  HTTP_PORT: String(20_000 + (Number.parseInt(id, 16) % 20_000)),
  HTTPS_PORT: String(40_000 + (Number.parseInt(id, 16) % 20_000)),
}
/** The operator's environment: the tag that is live now (kept up to date as in .env). */
let liveTag = tags.v1
// The load comes from one client address: above Traefik's per-IP rate limit (RATE_LIMIT_*,
// 100/s by default) it would be answered 429 where Traefik runs, which is not what this test measures.
const unlimited = { RATE_LIMIT_AVERAGE: '100000', RATE_LIMIT_BURST: '100000' }
const issuerTag = `ro-${id}`
const env = () =>
  dockerEnv({
    API_TAG: liveTag,
    API_REPLICAS: String(REPLICAS),
    DEV_ISSUER_TAG: issuerTag,
    ...unlimited,
    ...ports,
  })
const figures: Record<string, string> = {}
let proxyName = ''
let target: LoadTarget | undefined
let load: Load | undefined
let copy: string | undefined
let started = false

const { docker, compose, composeArgs, imagePresent, token } = dockerCli({
  env,
  project,
  files: ['compose.yaml'],
  composeTimeoutMs: 240_000,
})

interface Run {
  code: number
  stdout: string
  stderr: string
  ms: number
  steps: { step: string; ok: boolean; ms: number; [k: string]: unknown }[]
}

/** pnpm rollout, as an operator runs it, asynchronously: the load keeps its schedule meanwhile. */
function startRollout(args: string[]): { child: ChildProcess; result: Promise<Run> } {
  const proxyArgs = proxyName === 'traefik' ? [] : ['--proxy-url', `${target?.base}/health/ready`]
  const all = [rolloutCli, 'api', ...args, ...composeArgs.slice(1), ...proxyArgs]
  const t0 = performance.now()
  let child: ChildProcess | undefined
  const result = new Promise<Run>((done) => {
    child = execFile(
      process.execPath,
      all,
      { env: env(), encoding: 'utf8', timeout: 400_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
        const steps = stdout
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Run['steps'][number])
        done({ code, stdout, stderr, ms: performance.now() - t0, steps })
      },
    )
  })
  return { child: child as ChildProcess, result }
}

const rollout = (args: string[]) => startRollout(args).result

/** Containers of the api service: id -> image. */
function replicas(): Map<string, string> {
  const ids = docker([
    'ps',
    '-q',
    '--no-trunc',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--filter',
    'label=com.docker.compose.service=api',
    '--filter',
    'label=com.docker.compose.oneoff=False',
  ])
    .trim()
    .split('\n')
    .filter(Boolean)
  return new Map(ids.map((c) => [c, docker(['inspect', '--format', '{{.Config.Image}}', c]).trim()]))
}

function psql(sql: string): string[] {
  return compose(['exec', '-T', 'postgres', 'psql', '-U', 'stack', '-d', 'stack', '-Atc', sql], 30_000)
    .trim()
    .split('\n')
    .filter(Boolean)
}

const failed = (samples: Sample[]) => samples.filter((s) => s.status < 200 || s.status >= 300)
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/** The load, the rollout under it, and the figures of both. */
async function underLoad(name: string, args: string[]) {
  load = startLoad(target as LoadTarget, RATE)
  // Before: the baseline of the extra latency.
  await sleep(6000)
  const rolloutStart = load.now()
  const run = await rollout(args)
  const rolloutEnd = load.now()
  await sleep(3000)
  const samples = await load.stop()
  load = undefined
  const before = summarize(samples.filter((s) => s.at < rolloutStart))
  const during = summarize(samples.filter((s) => s.at >= rolloutStart && s.at <= rolloutEnd))
  const after = samples.filter((s) => s.at > rolloutEnd)
  const all = summarize(samples)
  figures[`${name}: rollout`] =
    `exit ${run.code} after ${seconds(run.ms)}; steps ${run.steps.map((s) => `${s.step} ${s.ms} ms`).join(', ')}`
  figures[`${name}: load`] =
    `${all.requests} requests at ${RATE}/s: ${all.ok} 2xx, ${all.non2xx} non-2xx, ${all.socketErrors} socket errors; versions ${JSON.stringify(all.versions)}`
  figures[`${name}: latency`] =
    `p50/p99 before ${before.p50}/${before.p99} ms, during ${during.p50}/${during.p99} ms (max ${during.max} ms)`
  console.info(
    `[rollout e2e] ${name} via ${proxyName}:\n  ${figures[`${name}: rollout`]}\n  ${figures[`${name}: load`]}\n  ${figures[`${name}: latency`]}`,
  )
  if (run.code !== 0) console.info(`[rollout e2e] ${name}: rollout said:\n${run.stderr}`)
  const bad = failed(samples)
  if (bad.length > 0) console.info(`[rollout e2e] ${name}: failed requests, first ones:`, bad.slice(0, 5))
  return { run, samples, after, all }
}

/** v2: the checkout plus an expand migration (a column with a default) and the field in the API's answers. */
function buildV2(): void {
  copy = copyRepository(repoRoot, { prefix: 'stack-rollout-v2-' })
  const edit = (file: string, from: string, to: string) => {
    const path = resolve(copy as string, file)
    const text = readFileSync(path, 'utf8')
    if (!text.includes(from))
      throw new Error(`v2 cannot be made: ${file} no longer contains ${JSON.stringify(from)}`)
    writeFileSync(path, text.replace(from, to))
  }
  edit(
    'apps/api/src/db/schema/notes.ts',
    "import { check, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'",
    "import { boolean, check, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'",
  )
  edit(
    'apps/api/src/db/schema/notes.ts',
    "    body: text().notNull().default(''),\n",
    "    body: text().notNull().default(''),\n    pinned: boolean().notNull().default(false),\n",
  )
  edit(
    'apps/api/src/routes/v1/notes/schemas.ts',
    '    body: Type.String(),\n',
    '    body: Type.String(),\n    pinned: Type.Boolean(),\n',
  )
  const drizzle = resolve(copy, 'apps/api/drizzle')
  writeFileSync(
    resolve(drizzle, '9001_rollout_pinned.sql'),
    'ALTER TABLE "notes" ADD COLUMN "pinned" boolean DEFAULT false NOT NULL;\n',
  )
  const journal = JSON.parse(readFileSync(resolve(drizzle, 'meta/_journal.json'), 'utf8')) as {
    entries: object[]
  }
  journal.entries.push({
    idx: journal.entries.length,
    version: '7',
    when: Date.now(),
    tag: '9001_rollout_pinned',
    breakpoints: true,
  })
  writeFileSync(resolve(drizzle, 'meta/_journal.json'), JSON.stringify(journal, null, 2))
  commitAll(copy, 'v2: notes.pinned')
  docker(['build', '--build-arg', 'APP=api', '-t', image(tags.v2), copy], 900_000)
}

const NEVER_READY = [
  "process.on('SIGTERM', () => process.exit(0))",
  "console.log('v3: listening on 3000, never ready')",
  "require('node:http').createServer((q, s) => { s.writeHead(503); s.end('not ready') }).listen(3000, '0.0.0.0')",
].join(';')

beforeAll(() => {
  figures['docker engine'] = docker(['version', '--format', '{{.Server.Version}}']).trim()
  started = true
  const useTraefik = imagePresent(traefikImage)
  proxyName = useTraefik ? 'traefik' : 'haproxy'
  console.info(
    useTraefik
      ? `[rollout e2e] proxy: the stack's Traefik (${traefikImage})`
      : `[rollout e2e] proxy: HAProxy (Debian package, test image ${haproxyImage}), since no local image ${traefikImage}; it checks /health/ready every 1 s as the Traefik labels do`,
  )
  let t0 = performance.now()
  compose(['build', 'api'], 900_000)
  figures['build v1 (compose build api)'] = seconds(performance.now() - t0)
  compose(['build', 'dev-issuer'], 900_000)
  t0 = performance.now()
  buildV2()
  figures['build v2 (a copy with a migration and a field)'] = seconds(performance.now() - t0)
  // v3 and v4: derived from v2 in a second each. v3's replicas answer 503 to everything (its
  // migrator, v2's, succeeds); v4's migrator has a migration that fails.
  docker(
    ['build', '-t', image(tags.v3), '-'],
    120_000,
    `FROM ${image(tags.v2)}\nCMD ["node", "-e", ${JSON.stringify(NEVER_READY)}]\n`,
  )
  docker(
    ['build', '-t', image(tags.v4), '-'],
    120_000,
    `FROM ${image(tags.v2)}
USER root
RUN printf 'ALTER TABLE "no_such_table" ADD COLUMN "x" integer;\\n' > drizzle/9002_rollout_broken.sql \\
 && node -e "const fs = require('fs'); const f = 'drizzle/meta/_journal.json'; const j = JSON.parse(fs.readFileSync(f)); j.entries.push({ idx: j.entries.length, version: '7', when: Date.now(), tag: '9002_rollout_broken', breakpoints: true }); fs.writeFileSync(f, JSON.stringify(j))"
USER node
`,
  )
  if (!useTraefik) {
    t0 = performance.now()
    docker(['build', '-t', haproxyImage, resolve(repoRoot, 'deploy/test/compose/haproxy')], 600_000)
    figures['build HAProxy test image'] = seconds(performance.now() - t0)
  }

  t0 = performance.now()
  compose(['up', '-d', '--wait', ...apiServices])
  figures['up v1 (3 replicas healthy)'] = seconds(performance.now() - t0)
  // Every request of the load carries one user's token from the stack's dev-issuer: the API
  // verifies it on every replica of every version, as it would a real provider's.
  const bearer = token(['--sub', 'rollout', '--ttl', '2h'])
  if (useTraefik) {
    compose(['up', '-d', '--wait', 'traefik'])
    target = { base: `https://127.0.0.1:${ports.HTTPS_PORT}`, host: 'api.localhost', token: bearer }
  } else {
    docker([
      'run',
      '-d',
      '--name',
      haproxyName,
      '--network',
      `${project}_edge`,
      '-e',
      'SERVICE=api',
      '-p',
      '127.0.0.1::8080',
      '--read-only',
      '--cap-drop',
      'ALL',
      haproxyImage,
    ])
    const published = docker(['port', haproxyName, '8080/tcp']).trim().split('\n')[0] as string
    target = { base: `http://127.0.0.1:${published.split(':').at(-1)}`, host: 'api.localhost', token: bearer }
  }
}, 1_800_000)

afterAll(async () => {
  await load?.stop()
  try {
    if (started) {
      try {
        docker(['rm', '-f', haproxyName])
      } catch {
        // Not started (Traefik run) or already gone.
      }
      compose(['down', '-v', '--remove-orphans', '--timeout', '30'], 180_000)
    }
  } finally {
    for (const ref of [...Object.values(tags).map(image), `stack/dev-issuer:${issuerTag}`]) {
      try {
        docker(['rmi', ref])
      } catch {
        // Never built (an earlier step failed).
      }
    }
    try {
      docker(['rmi', haproxyImage])
    } catch {
      // Traefik run: not built.
    }
    removeRepository(copy)
    console.info(
      `[rollout e2e] figures (project ${project}, proxy ${proxyName}):\n${Object.entries(figures)
        .map(([k, v]) => `  ${k}: ${v}`)
        .join('\n')}`,
    )
  }
}, 300_000)

describe(`pnpm rollout under ${RATE} req/s through the proxy`, () => {
  it('the proxy serves v1 from every replica before anything rolls', async () => {
    let answer = { status: 0, version: undefined as string | undefined }
    for (let i = 0; i < 60 && answer.version !== tags.v1; i++) {
      const l = startLoad(target as LoadTarget, 20)
      await sleep(500)
      const s = (await l.stop()).at(-1)
      answer = { status: s?.status ?? 0, version: s?.version }
    }
    expect(answer).toEqual({ status: 200, version: tags.v1 })
    expect([...replicas().values()]).toEqual(Array(REPLICAS).fill(image(tags.v1)))
  })

  it('v1 -> v2 (expand migration, new field): 0 failed requests, v1 or v2 only, all v2 at the end, migrated once', async () => {
    const before = replicas()
    const { run, samples, after } = await underLoad('v1 -> v2', ['--tag', tags.v2, '--timeout', '180'])
    // As the operator keeps it in .env: the next tests start from what is live.
    if (run.code === 0) liveTag = tags.v2
    expect(run.stderr).toContain(`API_TAG=${tags.v2}`)
    expect(run.code).toBe(0)
    expect(failed(samples)).toEqual([])
    expect(new Set(samples.map((s) => s.version))).toEqual(new Set([tags.v1, tags.v2]))
    expect(after.length).toBeGreaterThan(0)
    expect(after.filter((s) => s.version !== tags.v2)).toEqual([])
    // One JSON line per step, each timed, in order.
    expect(run.steps.map((s) => s.step)).toEqual([
      'plan',
      'preflight',
      'migrate',
      'start',
      'healthy',
      'routed',
      'drain',
      'drain',
      'drain',
      'settle',
      'done',
    ])
    expect(run.steps.every((s) => s.ok && Number.isInteger(s.ms))).toBe(true)
    expect(run.steps.filter((s) => s.step === 'drain').map((s) => s.exitCodes)).toEqual([[0], [0], [0]])
    // The new field, from the new column.
    const write = after.find((s) => s.write)
    expect(JSON.parse(write?.body ?? '{}')).toMatchObject({ pinned: false })
    const now = replicas()
    expect([...now.values()]).toEqual(Array(REPLICAS).fill(image(tags.v2)))
    expect([...now.keys()].some((c) => before.has(c))).toBe(false)
    const migrations = psql('select hash from drizzle.__drizzle_migrations')
    expect(migrations).toHaveLength(committedMigrations + 1)
    expect(new Set(migrations).size).toBe(committedMigrations + 1)
    expect(
      psql(
        "select count(*) from information_schema.columns where table_name = 'notes' and column_name = 'pinned'",
      ),
    ).toEqual(['1'])
  })

  it('a later docker compose up -d with the tag kept recreates no replica', () => {
    const before = replicas()
    compose(['up', '-d', '--wait', ...apiServices])
    expect(replicas()).toEqual(before)
    expect(psql('select count(*) from drizzle.__drizzle_migrations')).toEqual([
      String(committedMigrations + 1),
    ])
  })

  it('v2 -> v3 whose replicas never become ready: rolled back, 0 failed requests, all v2, exit 1 naming why', async () => {
    const before = replicas()
    const { run, samples, after } = await underLoad('v2 -> v3 (never ready)', [
      '--tag',
      tags.v3,
      '--timeout',
      '40',
    ])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/FAILED: api: deadline passed waiting for 3 new replica\(s\) to be healthy/)
    expect(run.stderr).toContain('rolled back, the old replicas serve')
    // The last log lines of a failing new replica.
    expect(run.stderr).toContain('v3: listening on 3000, never ready')
    expect(run.steps.map((s) => s.step)).toEqual([
      'plan',
      'preflight',
      'migrate',
      'start',
      'healthy',
      'rollback',
      'done',
    ])
    expect(failed(samples)).toEqual([])
    expect(new Set(samples.map((s) => s.version))).toEqual(new Set([tags.v2]))
    expect(after.length).toBeGreaterThan(0)
    expect(replicas()).toEqual(before)
  })

  it('one rollout at a time, and Ctrl-C before the drain rolls back: 0 failed requests, all v2', async () => {
    const before = replicas()
    load = startLoad(target as LoadTarget, RATE)
    const first = startRollout(['--tag', tags.v3, '--timeout', '120'])
    // Until its new replicas are started: the lock is held, the old replicas untouched.
    let out = ''
    first.child.stdout?.on('data', (d: string) => {
      out += d
    })
    for (let i = 0; i < 240 && !out.includes('"step":"start"'); i++) await sleep(250)
    expect(out).toContain('"step":"start"')
    const second = await rollout(['--tag', tags.v2])
    expect(second.code).toBe(1)
    expect(second.stderr).toMatch(/FAILED: another rollout of project stack-rollout-\w+ is running \(pid \d+/)
    first.child.kill('SIGINT')
    const run = await first.result
    await sleep(2000)
    const samples = await load.stop()
    load = undefined
    figures['Ctrl-C during the health wait'] =
      `exit ${run.code} after ${seconds(run.ms)}; ${summarize(samples).requests} requests, ${failed(samples).length} failed`
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(
      /FAILED: api: interrupted \(SIGINT\)[^\n]*; rolled back, the old replicas serve/,
    )
    expect(run.steps.map((s) => s.step)).toEqual([
      'plan',
      'preflight',
      'migrate',
      'start',
      'healthy',
      'rollback',
      'done',
    ])
    expect(failed(samples)).toEqual([])
    expect(new Set(samples.map((s) => s.version))).toEqual(new Set([tags.v2]))
    expect(replicas()).toEqual(before)
  })

  it('v2 -> v4 whose migration fails: exit 1 with its output, no replica touched, 0 failed requests', async () => {
    const before = replicas()
    const { run, samples } = await underLoad('v2 -> v4 (failing migration)', ['--tag', tags.v4])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(
      /FAILED: the migrator migrate-api of stack\/api:ro4-\w+ exited 1; no replica was touched/,
    )
    expect(run.stderr).toContain('no_such_table')
    expect(run.steps.map((s) => s.step)).toEqual(['plan', 'preflight', 'migrate', 'done'])
    expect(failed(samples)).toEqual([])
    expect(new Set(samples.map((s) => s.version))).toEqual(new Set([tags.v2]))
    expect(replicas()).toEqual(before)
    expect(psql('select count(*) from drizzle.__drizzle_migrations')).toEqual([
      String(committedMigrations + 1),
    ])
    // The failed rollouts left the migrator's compose container on the live release: a plain up
    // still recreates nothing (Compose recreates the dependents of a dependency it recreates).
    compose(['up', '-d', '--wait', ...apiServices])
    expect(replicas()).toEqual(before)
  })

  it('--to v1 rolls a bad release back: v1 runs on the expanded schema, 0 failed requests', async () => {
    const { run, samples, after } = await underLoad('v2 -> v1 (--to)', ['--to', tags.v1, '--timeout', '180'])
    if (run.code === 0) liveTag = tags.v1
    expect(run.code).toBe(0)
    expect(run.stderr).toContain(`rolled back to ${tags.v1}`)
    expect(failed(samples)).toEqual([])
    expect(after.length).toBeGreaterThan(0)
    expect(after.filter((s) => s.version !== tags.v1)).toEqual([])
    expect([...replicas().values()]).toEqual(Array(REPLICAS).fill(image(tags.v1)))
  })
})
