import type { LoadResult } from './load.js'
import type { Machine } from './machine.js'
import { MB } from './stats.js'

export interface StartRun {
  readyMs: number
  startupMs: number
  idleRssBytes: number
}

export interface CaseResult extends LoadResult {
  n: string
  name: string
  label: string
  peakRssBytes: number
  /** Cores busy over the measured run: the server under test, and the load generator. */
  serverCpu: number
  loadgenCpu: number
}

export interface Target {
  name: string
  bar: string
  figure: string
  met: boolean
}

export interface BenchResults {
  date: string
  machine: Machine
  revision: string
  /** 1-minute load average before and after the run. */
  loadAverage: { before: number; after: number }
  versions: Record<string, string>
  settings: {
    durationS: number
    connections: number
    warmupS: number
    pacedWarmupS?: number
    notes: number
    entry: string
    cores: { loadgen: string; server: string; postgres: string }
    postgres: string
    pinned: boolean
  }
  cases: CaseResult[]
  rawPg:
    | {
        requests: number
        rps: number
        p50: number
        p99: number
        max: number
        mean: number
        errors: number
        /** Cores the raw pg process used over the measured run. */
        serverCpu: number
      }
    | undefined
  fixedRate: { rate: number; paced: LoadResult & { sentRate: number }; autocannon: LoadResult } | undefined
  startup: Record<
    string,
    { runs: StartRun[]; readyMs: number; readyMaxMs: number; startupMs: number; idleRssBytes: number }
  >
  shutdown: {
    delayMs: number
    exitMs: number
    exitCode: number | null
    closeMs: number
    connectionsAtClose: number
    okAfterSigterm: number
    non2xxAfterSigterm: number
    socketErrorsAfterSigterm: number
  }
  targets: Target[]
  /** PostgreSQL not accepting connections before a case (it went through crash recovery). */
  postgresWaits: { before: string; ms: number }[]
  benchSeconds: number
}

const ms = (v: number) => (Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) : '-')
const mb = (v: number) => (Number.isFinite(v) ? (v / MB).toFixed(0) : '-')
const pct = (v: number) => (Number.isFinite(v) ? `${Math.round(v * 100)} %` : '-')
const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-')
const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && b > 0 ? a / b : Number.NaN

/** CPU the server spent per request (µs): unlike req/s, it holds when other work shares the cores. */
const cpuPerRequest = (c: CaseResult) => (c.rps > 0 ? (c.serverCpu / c.rps) * 1e6 : Number.NaN)

function byName(r: BenchResults, name: string) {
  return r.cases.find((c) => c.name === name)
}

/** The issue's targets, each met or missed with its figure. */
export function evaluate(r: BenchResults): Target[] {
  const targets: Target[] = []
  const live = byName(r, 'live')
  const fastify = byName(r, 'fastify')
  const read = byName(r, 'read')
  if (live && fastify) {
    const v = ratio(live.rps, fastify.rps)
    targets.push({
      name: '3/2: full plugin stack vs bare Fastify',
      bar: '>= 0.80',
      figure: v.toFixed(2),
      met: v >= 0.8,
    })
  }
  if (read && r.rawPg) {
    const v = ratio(read.rps, r.rawPg.rps)
    targets.push({
      name: '4/4b: GET /v1/notes/:id vs raw pg pool, same query',
      bar: '>= 0.70',
      figure: `${v.toFixed(2)} (${int(read.rps)} vs ${int(r.rawPg.rps)}/s)`,
      met: v >= 0.7,
    })
  }
  if (r.fixedRate) {
    const p = r.fixedRate.paced
    targets.push({
      name: `p99 of 4 at 70 % of saturation (${int(r.fixedRate.rate)} req/s, even open-loop rate)`,
      bar: '<= 50 ms',
      figure: `${ms(p.p99)} ms`,
      met: p.p99 <= 50 && p.non2xx + p.socketErrors === 0,
    })
  }
  const s = r.startup[r.settings.entry]
  if (s) {
    targets.push({
      name: `start -> ready (${r.settings.entry}, median of ${s.runs.length})`,
      bar: '<= 1000 ms',
      figure: `${int(s.readyMs)} ms (max ${int(s.readyMaxMs)})`,
      met: s.readyMs <= 1000,
    })
    targets.push({
      name: 'idle RSS after start',
      bar: '<= 100 MB',
      figure: `${mb(s.idleRssBytes)} MB`,
      met: s.idleRssBytes <= 100 * MB,
    })
  }
  return targets
}

/** The results table as printed and as written to the Markdown file. */
export function table(r: BenchResults): string {
  const lines = [
    '| # | case | req/s | p50 ms | p99 ms | max ms | errors | peak RSS MB | CPU server / load gen | server CPU µs/req |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  for (const c of r.cases) {
    lines.push(
      `| ${c.n} | ${c.label} | ${int(c.rps)} | ${ms(c.p50)} | ${ms(c.p99)} | ${ms(c.max)} | ${int(c.non2xx + c.socketErrors)} | ${mb(c.peakRssBytes)} | ${pct(c.serverCpu)} / ${pct(c.loadgenCpu)} | ${int(cpuPerRequest(c))} |`,
    )
    if (c.name === 'read' && r.rawPg) {
      lines.push(
        `| 4b | raw pg pool, same query, ${r.settings.connections} callers | ${int(r.rawPg.rps)} | ${ms(r.rawPg.p50)} | ${ms(r.rawPg.p99)} | ${ms(r.rawPg.max)} | ${int(r.rawPg.errors)} | - | ${pct(r.rawPg.serverCpu)} / - | ${int((r.rawPg.serverCpu / r.rawPg.rps) * 1e6)} |`,
      )
    }
  }
  if (r.fixedRate) {
    const { paced, autocannon, rate } = r.fixedRate
    lines.push(
      `| 4 @ ${int(rate)}/s | even open-loop rate (70 %) | ${int(paced.rps)} | ${ms(paced.p50)} | ${ms(paced.p99)} | ${ms(paced.max)} | ${int(paced.non2xx + paced.socketErrors)} | - | - | - |`,
      `| 4 @ ${int(rate)}/s | autocannon overallRate (70 %) | ${int(autocannon.rps)} | ${ms(autocannon.p50)} | ${ms(autocannon.p99)} | ${ms(autocannon.max)} | ${int(autocannon.non2xx + autocannon.socketErrors)} | - | - | - |`,
    )
  }
  const ratios = [
    `3/2 = ${ratio(byName(r, 'live')?.rps, byName(r, 'fastify')?.rps).toFixed(2)}`,
    `2/1 = ${ratio(byName(r, 'fastify')?.rps, byName(r, 'node-http')?.rps).toFixed(2)}`,
    `4/4b = ${ratio(byName(r, 'read')?.rps, r.rawPg?.rps).toFixed(2)}`,
    `4a/4 = ${ratio(byName(r, 'read-auth')?.rps, byName(r, 'read')?.rps).toFixed(2)}`,
  ]
  const live = byName(r, 'live')
  const fastify = byName(r, 'fastify')
  const cpuRatio = live && fastify ? cpuPerRequest(fastify) / cpuPerRequest(live) : Number.NaN
  const read = byName(r, 'read')
  const readCpuRatio =
    read && r.rawPg ? r.rawPg.serverCpu / r.rawPg.rps / (read.serverCpu / read.rps) : Number.NaN
  const authed = byName(r, 'read-auth')
  const authCost =
    read && authed
      ? ` Bearer-token verification (4a - 4): ${int(cpuPerRequest(authed) - cpuPerRequest(read))} µs of server CPU and ${ms(authed.p50 - read.p50)} ms of p50 per request.`
      : ''
  lines.push(
    '',
    `Ratios (req/s): ${ratios.join(', ')}. By the server's CPU per request (PostgreSQL's own CPU not counted): ` +
      `3/2 = ${cpuRatio.toFixed(2)}, 4/4b = ${readCpuRatio.toFixed(2)}.${authCost}`,
    '',
  )

  lines.push('| start-up | start -> ready (median, max) | startupMs (server log) | idle RSS MB |')
  lines.push('| --- | ---: | ---: | ---: |')
  for (const [entry, s] of Object.entries(r.startup)) {
    const file = entry === 'bundle' ? 'dist/server.bundle.js' : 'dist/server.js'
    lines.push(
      `| \`node ${file}\` (${s.runs.length} starts) | ${int(s.readyMs)} ms, ${int(s.readyMaxMs)} ms | ${int(s.startupMs)} ms | ${mb(s.idleRssBytes)} |`,
    )
  }
  const d = r.shutdown
  lines.push(
    '',
    `SIGTERM under load (${r.settings.connections} connections on GET /v1/notes/:id, SHUTDOWN_DELAY_MS=${d.delayMs}): ` +
      `exit ${d.exitCode} after ${int(d.exitMs)} ms (delay ${int(d.delayMs)} ms + close ${int(d.closeMs)} ms, ` +
      `${int(d.connectionsAtClose)} connections open at close); after SIGTERM ${int(d.okAfterSigterm)} requests answered 2xx, ` +
      `${int(d.non2xxAfterSigterm)} non-2xx, ${int(d.socketErrorsAfterSigterm)} socket errors once the listener closed ` +
      '(autocannon keeps sending; a proxy would have stopped on readiness 503).',
    '',
    '| target | bar | figure | |',
    '| --- | --- | --- | --- |',
  )
  for (const t of r.targets)
    lines.push(`| ${t.name} | ${t.bar} | ${t.figure} | ${t.met ? 'met' : '**missed**'} |`)
  return lines.join('\n')
}

export function markdown(r: BenchResults): string {
  const m = r.machine
  const v = r.versions
  const s = r.settings
  return [
    `Run of ${r.date.slice(0, 10)} (${r.date}), ${Math.round(r.benchSeconds)} s in all.`,
    '',
    `- Machine: ${m.cpu}, ${m.cores} cores${m.virtualized ? ' (virtual machine)' : ''}, ${m.memoryGiB} GiB, ${m.kernel}`,
    `- Revision: ${r.revision}; 1-minute load average ${r.loadAverage.before} before the run, ${r.loadAverage.after} after (${r.machine.cores} = every core busy)`,
    `- Versions: Node ${v.node}, Fastify ${v.fastify}, pg ${v.pg}, drizzle-orm ${v['drizzle-orm']}, PostgreSQL ${v.postgres}, autocannon ${v.autocannon}`,
    `- Load: ${s.connections} keep-alive connections, ${s.durationS} s measured after ${s.warmupS} s of warm-up, a fresh server per case (case 4 at 70 % after ${s.pacedWarmupS ?? s.warmupS} s of warm-up at its rate); API build: ${s.entry === 'bundle' ? 'dist/server.bundle.js' : 'dist/server.js'}, LOG_LEVEL=info, DATABASE_POOL_MAX=10; ${s.notes} notes seeded`,
    `- Cores: load generator ${s.cores.loadgen || 'any'}, server under test ${s.cores.server || 'any'}, PostgreSQL ${s.cores.postgres || 'any'} (${s.postgres})${s.pinned ? '' : ' (taskset missing: nothing pinned)'}`,
    ...(r.postgresWaits.length > 0
      ? [
          `- PostgreSQL was not accepting connections (crash recovery) before ${r.postgresWaits
            .map((w) => `${w.before} (${w.ms} ms)`)
            .join(', ')}: the errors of the case before each are the database's`,
        ]
      : []),
    '',
    table(r),
    '',
  ].join('\n')
}
