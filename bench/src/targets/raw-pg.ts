// Case 4b: the ceiling for case 4. A pg pool of the API's size running the query that
// GET /v1/notes/:id runs (drizzle's SQL text, array rows as drizzle asks for them) in a loop from as
// many concurrent callers as the HTTP case has connections, with no HTTP, no Fastify and no drizzle.
import pg from 'pg'
import { summarize } from '../stats.js'

const SQL = 'select "id", "title", "body", "created_at", "updated_at" from "notes" where "notes"."id" = $1'

const env = process.env
const concurrency = Number(env.CONCURRENCY ?? 50)
const durationMs = Number(env.DURATION_S ?? 10) * 1000
const warmupMs = Number(env.WARMUP_S ?? 0) * 1000
const pool = new pg.Pool({
  connectionString: env.DATABASE_URL,
  max: Number(env.POOL_MAX ?? 10),
  application_name: 'bench-raw-pg',
})

// The bench has just checked the database; still, give a server in recovery a moment.
let rows: { id: string }[] = []
for (let attempt = 0; ; attempt++) {
  try {
    rows = (await pool.query<{ id: string }>('select id from notes')).rows
    break
  } catch (err) {
    if (attempt >= 120) throw err
    await new Promise((r) => setTimeout(r, 250))
  }
}
const ids = rows.map((r) => r.id)
const pick = () => ids[Math.floor(Math.random() * ids.length)]

async function run(ms: number) {
  const latencies: number[] = []
  let errors = 0
  const end = performance.now() + ms
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now()
        try {
          await pool.query({ text: SQL, values: [pick()], rowMode: 'array' })
          latencies.push(performance.now() - t)
        } catch {
          errors++
        }
      }
    }),
  )
  return { latencies, errors, seconds: (performance.now() - started) / 1000 }
}

if (warmupMs > 0) await run(warmupMs)
const cpuBefore = process.cpuUsage()
const { latencies, errors, seconds } = await run(durationMs)
const cpu = process.cpuUsage(cpuBefore)
const cpuSeconds = (cpu.user + cpu.system) / 1e6
await pool.end()
process.stdout.write(
  `${JSON.stringify({ msg: 'result', requests: latencies.length, errors, seconds, cpuSeconds, ...summarize(latencies) })}\n`,
)
