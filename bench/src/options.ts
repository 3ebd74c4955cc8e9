import os from 'node:os'
import { parseArgs } from 'node:util'

export const CASES = ['node-http', 'fastify', 'live', 'read', 'read-auth', 'write', 'list'] as const
export type CaseName = (typeof CASES)[number]

export interface Options {
  durationS: number
  connections: number
  warmupS: number
  /** Warm-up of case 4 at 70 %: longer, since it measures a steady-state tail. */
  pacedWarmupS: number
  /** Cold starts measured for start -> ready. */
  starts: number
  notes: number
  cases: CaseName[]
  /** Which build of the API the cases run: the production bundle or tsc's dist/server.js. */
  entry: 'bundle' | 'tsc'
  loadgenCpus: string
  serverCpus: string
  pgCpus: string
  shutdownDelayMs: number
  outDir: string
  updateDocs: boolean
  /** Exit 1 when a target is missed (off by default: short CI runs are noisy). */
  strict: boolean
  /** Write a V8 CPU profile of each server under test (results/profiles/<case>.cpuprofile). */
  profile: boolean
}

const HELP = `pnpm bench [-- options]     (each option also reads BENCH_<NAME> from the environment)

  --duration-s N        seconds per measured run (BENCH_DURATION_S, default 10)
  --connections N       keep-alive connections (BENCH_CONNECTIONS, default 50)
  --warmup-s N          unmeasured seconds before each run (BENCH_WARMUP_S, default min(3, duration/2))
  --paced-warmup-s N    warm-up of case 4 at 70 %, at its rate (BENCH_PACED_WARMUP_S, default 10)
  --starts N            cold starts for start -> ready (BENCH_STARTS, default 5)
  --notes N             notes seeded (BENCH_NOTES, default 10000)
  --cases a,b           subset of ${CASES.join(',')} (BENCH_CASES)
  --entry bundle|tsc    API build the cases run (BENCH_ENTRY, default bundle: what the image runs)
  --loadgen-cpus L      cores of autocannon (BENCH_LOADGEN_CPUS)
  --server-cpus L       cores of the server under test and of case 4b (BENCH_SERVER_CPUS)
  --pg-cpus L           cores of PostgreSQL, "" for any (BENCH_PG_CPUS)
  --shutdown-delay-ms N SHUTDOWN_DELAY_MS of the SIGTERM run (BENCH_SHUTDOWN_DELAY_MS, default 5000)
  --out DIR             results folder (BENCH_OUT, default bench/results)
  --update-docs         rewrite the results section of docs/performance.md (BENCH_UPDATE_DOCS=1)
  --strict              exit 1 when a target is missed (BENCH_STRICT=1)
  --profile             CPU profile of each server under test, in <out>/profiles (BENCH_PROFILE=1)`

/** Core placement: load generator, server and PostgreSQL apart where there are cores for it. */
function defaultCpus(): { loadgen: string; server: string; pg: string } {
  const n = os.availableParallelism()
  if (n >= 4) return { loadgen: '0', server: '1', pg: `2-${n - 1}` }
  // Two cores: PostgreSQL shares the server's core. Then case 4 (API + PostgreSQL) and case 4b
  // (raw pg loop + PostgreSQL) run on the same one core, and the load generator has the other to
  // itself; with PostgreSQL beside autocannon instead, case 4's database would get less CPU than
  // 4b's (see docs/performance.md, "Placement").
  if (n === 2) return { loadgen: '0', server: '1', pg: '1' }
  return { loadgen: '', server: '', pg: '' }
}

export function parseOptions(argv = process.argv.slice(2), env = process.env): Options {
  const { values } = parseArgs({
    // `pnpm bench -- --cases live` hands the separator on to the script.
    args: argv[0] === '--' ? argv.slice(1) : argv,
    options: {
      'duration-s': { type: 'string' },
      connections: { type: 'string' },
      'warmup-s': { type: 'string' },
      'paced-warmup-s': { type: 'string' },
      starts: { type: 'string' },
      notes: { type: 'string' },
      cases: { type: 'string' },
      entry: { type: 'string' },
      'loadgen-cpus': { type: 'string' },
      'server-cpus': { type: 'string' },
      'pg-cpus': { type: 'string' },
      'shutdown-delay-ms': { type: 'string' },
      out: { type: 'string' },
      'update-docs': { type: 'boolean' },
      strict: { type: 'boolean' },
      profile: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    console.info(HELP)
    process.exit(0)
  }
  const pick = (flag: keyof typeof values, name: string) => {
    const v = values[flag]
    return typeof v === 'string' ? v : env[`BENCH_${name}`]
  }
  const num = (flag: keyof typeof values, name: string, fallback: number) => {
    const text = pick(flag, name)
    if (text === undefined || text === '') return fallback
    const n = Number(text)
    if (!Number.isFinite(n) || n < 0)
      throw new Error(`--${String(flag)} / BENCH_${name}: not a number: ${text}`)
    return n
  }
  const cpus = defaultCpus()
  const durationS = num('duration-s', 'DURATION_S', 10)
  const cases = (pick('cases', 'CASES') ?? CASES.join(','))
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean)
  for (const c of cases) {
    if (!(CASES as readonly string[]).includes(c))
      throw new Error(`unknown case "${c}": one of ${CASES.join(', ')}`)
  }
  const entry = pick('entry', 'ENTRY') ?? 'bundle'
  if (entry !== 'bundle' && entry !== 'tsc') throw new Error(`--entry: bundle or tsc, not ${entry}`)
  return {
    durationS,
    connections: num('connections', 'CONNECTIONS', 50),
    warmupS: num('warmup-s', 'WARMUP_S', Math.min(3, durationS / 2)),
    pacedWarmupS: num('paced-warmup-s', 'PACED_WARMUP_S', 10),
    starts: Math.max(1, num('starts', 'STARTS', 5)),
    notes: Math.max(1, num('notes', 'NOTES', 10_000)),
    cases: cases as CaseName[],
    entry,
    loadgenCpus: pick('loadgen-cpus', 'LOADGEN_CPUS') ?? cpus.loadgen,
    serverCpus: pick('server-cpus', 'SERVER_CPUS') ?? cpus.server,
    pgCpus: pick('pg-cpus', 'PG_CPUS') ?? cpus.pg,
    shutdownDelayMs: num('shutdown-delay-ms', 'SHUTDOWN_DELAY_MS', 5000),
    outDir: pick('out', 'OUT') ?? new URL('../results/', import.meta.url).pathname,
    updateDocs: Boolean(values['update-docs']) || env.BENCH_UPDATE_DOCS === '1',
    strict: Boolean(values.strict) || env.BENCH_STRICT === '1',
    profile: Boolean(values.profile) || env.BENCH_PROFILE === '1',
  }
}
