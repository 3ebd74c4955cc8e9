import { migrationsFolder } from '@stack/api/migrations'
import { runMigrations } from '@stack/migrate'
import { createTestDatabase, freePort, type Response, request, type TestDatabase } from '@stack/testing'
import { API_ENTRIES, type ApiEntry, type Child, spawnNode } from '../../src/proc.js'

/** Which build the suite runs: the production bundle unless RELIABILITY_ENTRY=tsc. */
export const ENTRY: ApiEntry = process.env.RELIABILITY_ENTRY === 'tsc' ? 'tsc' : 'bundle'

/** The server's cores: core 1 of a 2-core machine, so the load generator (this process) has its own. */
export const SERVER_CPUS = process.env.RELIABILITY_SERVER_CPUS ?? '1'

export interface Api {
  child: Child
  port: number
  origin: string
  /** Where GET /metrics answers (Prometheus text), when the build has metrics. */
  metricsOrigin: string
}

/** The real built API as a child process, listening on 127.0.0.1, once it has logged "listening". */
export async function startApi(
  env: Record<string, string>,
  options: { nodeArgs?: string[]; cpus?: string; logFile?: string } = {},
): Promise<Api> {
  const port = await freePort()
  const metricsPort = await freePort()
  const child = spawnNode({
    script: API_ENTRIES[ENTRY],
    // Metrics stay on, as in production, on a free port rather than the fixed default.
    env: {
      HOST: '127.0.0.1',
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'warn',
      ...env,
    },
    cpus: options.cpus ?? SERVER_CPUS,
    nodeArgs: options.nodeArgs ?? [],
    ...(options.logFile ? { logFile: options.logFile } : {}),
  })
  const origin = `http://127.0.0.1:${port}`
  // Listening, whatever LOG_LEVEL says: liveness answers.
  const deadline = performance.now() + 30_000
  for (;;) {
    if (child.child.exitCode !== null)
      throw new Error(`the API exited ${child.child.exitCode}: ${child.stderr()}`)
    const status = await request(`${origin}/health/live`, { agent: false, timeoutMs: 1000 }).then(
      (r) => r.status,
      () => 0,
    )
    if (status === 200) break
    if (performance.now() > deadline) {
      // Never leave a server behind that no test will stop.
      await child.stop('SIGKILL')
      throw new Error(`the API did not listen within 30 s: ${child.stderr()}`)
    }
    await new Promise((r) => setTimeout(r, 20))
  }
  return { child, port, origin, metricsOrigin: `http://127.0.0.1:${metricsPort}` }
}

/** Waits until GET /health/ready answers 200, as a proxy or a kubelet does before sending traffic. */
export async function untilReady(api: Api, timeoutMs = 30_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const status = await request(`${api.origin}/health/ready`, { agent: false, timeoutMs: 2000 }).then(
      (r) => r.status,
      () => 0,
    )
    if (status === 200) return
    if (performance.now() > deadline) throw new Error(`the API was not ready within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A database of its own, migrated by the real runner. */
export async function migratedDatabase(adminUrl?: string): Promise<TestDatabase> {
  const database = await createTestDatabase(adminUrl)
  await runMigrations({ url: database.url, migrationsFolder, waitTimeoutMs: 30_000, lockTimeoutMs: 30_000 })
  return database
}

export { type RequestOptions, type Response, request } from '@stack/testing'

/** RFC 9457 members every error response must carry, with `status` equal to the HTTP status. */
export function problemIssues(res: Response): string[] {
  const issues: string[] = []
  if (!/^application\/problem\+json/.test(String(res.headers['content-type'] ?? ''))) {
    issues.push(`content-type ${res.headers['content-type']}`)
  }
  let body: Record<string, unknown>
  try {
    body = JSON.parse(res.body)
  } catch {
    return [...issues, `body is not JSON: ${res.body.slice(0, 100)}`]
  }
  for (const field of ['type', 'title', 'detail', 'instance']) {
    if (typeof body[field] !== 'string') issues.push(`${field} missing`)
  }
  if (body.status !== res.status) issues.push(`status ${String(body.status)} != ${res.status}`)
  return issues
}

/** One sample of the server's own metrics, e.g. nodejs_heap_size_used_bytes; NaN when absent. */
export async function metric(api: Api, name: string): Promise<number> {
  try {
    const res = await request(`${api.metricsOrigin}/metrics`, { agent: false, timeoutMs: 2000 })
    const line = res.body.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN
  } catch {
    return Number.NaN
  }
}
