import pg from 'pg'

export interface Blocker {
  pid: number
  applicationName: string
  state: string
  /** How long its transaction (or, outside one, its query) has been running. */
  ms: number
  query: string
}

/**
 * Watches a statement's session from a second connection while it runs, and remembers who blocks
 * it (pg_blocking_pids reads pg_locks). It has to look while the statement still waits: once the
 * lock timeout fires the wait is gone, and so is the answer.
 */
export function watchBlockers(url: string, pid: number, everyMs: number): { stop(): Promise<Blocker[]> } {
  let found: Blocker[] = []
  let client: pg.Client | undefined
  let running: Promise<void> = Promise.resolve()
  const look = async () => {
    if (!client) {
      client = new pg.Client({ connectionString: url, application_name: 'stack-migrate-watch' })
      client.on('error', () => {})
      await client.connect()
    }
    const { rows } = await client.query<Blocker>(
      `select a.pid, coalesce(a.application_name, '') as "applicationName", coalesce(a.state, '') as state,
              round(extract(epoch from now() - coalesce(a.xact_start, a.query_start)) * 1000)::int as ms,
              left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 120) as query
         from pg_stat_activity a where a.pid = any(pg_blocking_pids($1)) order by a.pid`,
      [pid],
    )
    if (rows.length > 0) found = rows
  }
  const timer = setInterval(() => {
    running = running.then(look).catch(() => {})
  }, everyMs)
  timer.unref()
  return {
    async stop() {
      clearInterval(timer)
      await running
      const open = client
      client = undefined
      await open?.end().catch(() => {})
      return found
    },
  }
}

export function describeBlockers(blockers: Blocker[]): string {
  if (blockers.length === 0) return 'a session that could not be identified'
  return blockers
    .map(
      (b) =>
        `pid ${b.pid} (application_name "${b.applicationName}", ${b.state}, for ${b.ms} ms, query "${b.query}")`,
    )
    .join(', ')
}
