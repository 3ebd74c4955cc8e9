import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { type Backend, createTestDatabase, type PostgresServer, startPostgres } from '../src/index.js'
import { serverVersion } from './server-version.js'

// Each back-end the harness can pick is started for real; `container` only where a Docker engine runs.
const { getContainerRuntimeClient } = await import('testcontainers')
const docker = await getContainerRuntimeClient().then(
  () => true,
  () => false,
)
const backends: Backend[] = docker ? ['embedded', 'container'] : ['embedded']

describe.each(backends)('%s back-end', (backend) => {
  let server: PostgresServer
  afterAll(() => server?.destroy())

  it('starts PostgreSQL 18, gives isolated databases, and survives stop/start on the same URL', async () => {
    server = await startPostgres({ backend, external: true })
    expect(server.backend).toBe(backend)
    expect(await serverVersion(server.url)).toMatch(/^18\./)

    const a = await createTestDatabase(server.url)
    const b = await createTestDatabase(server.url)
    expect(a.url).not.toBe(b.url)
    const client = new pg.Client({ connectionString: a.url })
    await client.connect()
    await client.query('create table t (x int)')
    await client.end()
    const other = new pg.Client({ connectionString: b.url })
    await other.connect()
    const { rows } = await other.query(`select count(*)::int as n from pg_tables where tablename = 't'`)
    await other.end()
    expect(rows[0].n).toBe(0)

    await server.stop()
    await expect(serverVersion(server.url)).rejects.toThrow()
    await server.start()
    expect(await serverVersion(a.url)).toMatch(/^18\./)
    await a.drop()
    await b.drop()
  })

  // Defined only for the container (not skipped for the embedded server, which has no container).
  if (backend === 'container')
    it('runs nothing inside the container after start: no health check whose orphans the postmaster would reap', async () => {
      const client = await getContainerRuntimeClient()
      const port = Number(new URL(server.url).port)
      const info = (await client.container.list()).find((c) => c.Ports.some((p) => p.PublicPort === port))
      expect(info).toBeDefined()
      const inspect = await client.container.inspect(client.container.getById(info?.Id ?? ''))
      expect(inspect.State.Health).toBeUndefined()
    })
})
