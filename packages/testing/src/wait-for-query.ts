/**
 * Resolves once PostgreSQL at `url` answers a query; after `timeoutMs` rejects with the last error.
 * A bound for a hang, not a speed limit: a server starting or restarting on a loaded machine can
 * take a while. An aborted `signal` ends the wait quietly (the caller has stopped caring).
 */
export async function waitForQuery(url: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const { default: pg } = await import('pg')
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 })
    try {
      await client.connect()
      await client.query('select 1')
      return
    } catch (error) {
      if (signal?.aborted) return
      if (Date.now() > deadline) {
        throw new Error(`PostgreSQL not answering after ${timeoutMs} ms: ${(error as Error).message}`)
      }
      await new Promise((r) => setTimeout(r, 100))
    } finally {
      await client.end().catch(() => {})
    }
  }
}
