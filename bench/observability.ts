// What metrics and tracing cost in throughput: the built API (node apps/api/dist/server.js) under
// autocannon, on /health/live and GET /v1/notes/:id, with metrics off, metrics on, and metrics on
// plus tracing (exported over OTLP/HTTP to a local sink). Prints figures; asserts nothing.
//
//   pnpm turbo build --filter=@stack/api && node bench/observability.ts
//   BENCH_DURATION_S=20 BENCH_CONNECTIONS=50 BENCH_ROUNDS=3 node bench/observability.ts
//
// Every variant runs once per round, in a rotated order, and the table shows the mean over rounds, so
// a machine that drifts (other processes, thermal limits) does not favour one variant. Besides req/s
// it reports the server's CPU time per request (from /proc): on a shared or busy machine req/s follows
// whoever else runs, CPU per request much less so.
import { once } from 'node:events'
import http from 'node:http'
import { runMigrations } from '@stack/migrate'
import {
  migratedDatabase,
  NO_SHEDDING,
  processStats,
  type ServerProcess,
  spawnServer,
  startPostgres,
  waitForStatus,
} from '@stack/testing'
import autocannon from 'autocannon'
import pg from 'pg'
import { API_ENTRIES, API_MIGRATIONS } from './src/servers.ts'

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10)
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 2)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2)
const NOTES = 1000
const SERVER = API_ENTRIES.tsc

interface Variant {
  name: string
  env: (sink: string) => Record<string, string>
}
const variants: Variant[] = [
  { name: 'metrics off', env: () => ({ METRICS_ENABLED: 'false' }) },
  { name: 'metrics on', env: () => ({}) },
  { name: 'metrics + tracing', env: (sink) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: sink }) },
]

interface Result {
  variant: string
  path: string
  rps: number
  /** Server CPU (user + system) per request, in microseconds; NaN where /proc is not there. */
  cpuUs: number
  p50: number
  p99: number
  errors: number
}

/** An OTLP/HTTP receiver that accepts and counts: the exporter's real work, without a collector. */
async function startSink() {
  let posts = 0
  let bytes = 0
  const server = http.createServer((req, res) => {
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length
    })
    req.on('end', () => {
      posts++
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => ({ posts, bytes }),
    close: () => server.close(),
  }
}

async function startApi(databaseUrl: string, env: Record<string, string>): Promise<ServerProcess> {
  const api = await spawnServer({
    entry: SERVER,
    // As in production: one line per request, written where nobody waits on it.
    logFile: '/dev/null',
    env: {
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: 'info',
      SHUTDOWN_DELAY_MS: '0',
      // Load shedding off: a saturated server (which is what autocannon makes) would otherwise trade
      // throughput for 503s as soon as the event loop is busy 98 % of the time, differently per variant.
      ...NO_SHEDDING,
      ...env,
    },
  })
  await waitForStatus(`${api.url}/health/ready`, 200, { server: api })
  return api
}

async function load(url: string, paths: string[], seconds: number) {
  let next = 0
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: paths[next++ % paths.length] }) }],
  })
}

async function main() {
  const postgres = await startPostgres({ external: true })
  const sink = await startSink()
  try {
    const database = await migratedDatabase(API_MIGRATIONS, runMigrations, { adminUrl: postgres.url })
    const client = new pg.Client({ connectionString: database.url })
    await client.connect()
    const { rows } = await client.query<{ id: string }>(
      `insert into notes (title, body) select 'note ' || g, repeat(md5(g::text), 8)
       from generate_series(1, $1::int) g returning id`,
      [NOTES],
    )
    await client.end()
    const cases = [
      { path: '/health/live', paths: ['/health/live'] },
      { path: '/v1/notes/:id', paths: rows.map((r) => `/v1/notes/${r.id}`) },
    ]

    console.info(
      `node ${process.version}, ${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s per run, ${ROUNDS} rounds`,
    )
    const results: Result[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const order = variants.map((_, i) => variants[(i + round) % variants.length] as Variant)
      for (const variant of order) {
        const api = await startApi(database.url, variant.env(sink.url))
        try {
          for (const c of cases) {
            await load(api.url, c.paths, WARMUP_S)
            const cpuBefore = processStats(api.pid).cpuSeconds
            const r = await load(api.url, c.paths, DURATION_S)
            const cpuUs = ((processStats(api.pid).cpuSeconds - cpuBefore) / r.requests.total) * 1e6
            results.push({
              variant: variant.name,
              path: c.path,
              rps: r.requests.average,
              cpuUs,
              p50: r.latency.p50,
              p99: r.latency.p99,
              errors: r.errors + r.non2xx,
            })
            console.info(
              `  round ${round + 1} ${variant.name.padEnd(18)} ${c.path.padEnd(14)} ${r.requests.average.toFixed(0).padStart(7)} req/s ${cpuUs.toFixed(0).padStart(6)} µs CPU/request`,
            )
          }
        } finally {
          await api.stop()
        }
      }
    }

    console.info('\nmean over rounds; Δ against "metrics off"')
    console.info(
      'variant              path              req/s      Δ   CPU µs/req      Δ   p50 ms  p99 ms  errors',
    )
    for (const c of cases) {
      const mean = (variant: string, key: 'rps' | 'cpuUs' | 'p50' | 'p99' | 'errors') => {
        const runs = results.filter((r) => r.variant === variant && r.path === c.path)
        return runs.reduce((sum, r) => sum + r[key], 0) / runs.length
      }
      const change = (v: Variant, key: 'rps' | 'cpuUs') => {
        if (v.name === 'metrics off') return ''
        const base = mean('metrics off', key)
        return `${(((mean(v.name, key) - base) / base) * 100).toFixed(1)} %`
      }
      for (const v of variants) {
        console.info(
          `${v.name.padEnd(20)} ${c.path.padEnd(14)} ${mean(v.name, 'rps').toFixed(0).padStart(8)} ${change(v, 'rps').padStart(8)} ` +
            `${mean(v.name, 'cpuUs').toFixed(0).padStart(10)} ${change(v, 'cpuUs').padStart(8)} ` +
            `${mean(v.name, 'p50').toFixed(1).padStart(8)} ${mean(v.name, 'p99').toFixed(1).padStart(7)} ${mean(v.name, 'errors').toFixed(0).padStart(7)}`,
        )
      }
    }
    const { posts, bytes } = sink.stats()
    console.info(`\ntracing exported ${posts} OTLP requests (${(bytes / 1e6).toFixed(1)} MB) to the sink`)
  } finally {
    sink.close()
    await postgres.destroy()
  }
}

await main()
