import { runMigrations } from '@stack/migrate'
import {
  migratedDatabase as migrated,
  type Response,
  request,
  type ServerProcess,
  spawnServer,
  type TestDatabase,
  waitForStatus,
} from '@stack/testing'
import { API_ENTRIES, API_MIGRATIONS, type ApiEntry, pinnedTo } from '../../src/servers.js'

/** Which build the suite runs: the production bundle unless RELIABILITY_ENTRY=tsc. */
export const ENTRY: ApiEntry = process.env.RELIABILITY_ENTRY === 'tsc' ? 'tsc' : 'bundle'

/** The server's cores: core 1 of a 2-core machine, so the load generator (this process) has its own. */
export const SERVER_CPUS = process.env.RELIABILITY_SERVER_CPUS ?? '1'

/**
 * The real built API as a child process on 127.0.0.1, once liveness answers (whatever LOG_LEVEL
 * says). Metrics stay on, as in production, on a free port of their own.
 */
export async function startApi(
  env: Record<string, string>,
  options: { nodeArgs?: string[]; cpus?: string; logFile?: string } = {},
): Promise<ServerProcess> {
  const api = await spawnServer({
    entry: API_ENTRIES[ENTRY],
    env: { LOG_LEVEL: 'warn', ...env },
    wrapper: pinnedTo(options.cpus ?? SERVER_CPUS),
    nodeArgs: options.nodeArgs ?? [],
    ...(options.logFile ? { logFile: options.logFile } : {}),
  })
  try {
    await waitForStatus(`${api.url}/health/live`, 200, { server: api })
  } catch (error) {
    // Never leave a server behind that no test will stop.
    await api.stop('SIGKILL')
    throw error
  }
  return api
}

/** Waits until GET /health/ready answers 200, as a proxy or a kubelet does before sending traffic. */
export async function untilReady(api: ServerProcess): Promise<void> {
  await waitForStatus(`${api.url}/health/ready`, 200, { server: api })
}

/** A database of its own, migrated by the real runner. */
export function migratedDatabase(adminUrl?: string): Promise<TestDatabase> {
  return migrated(API_MIGRATIONS, runMigrations, adminUrl ? { adminUrl } : {})
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
export async function metric(api: ServerProcess, name: string): Promise<number> {
  try {
    const res = await request(`${api.metricsUrl}/metrics`, { agent: false, timeoutMs: 2000 })
    const line = res.body.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`))
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN
  } catch {
    return Number.NaN
  }
}
