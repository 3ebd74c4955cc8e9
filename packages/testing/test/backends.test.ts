import { execFileSync } from 'node:child_process'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { type Backend, createTestDatabase, type PostgresServer, startPostgres } from '../src/index.js'

// Each back-end the harness can pick is started for real; `container` only where a Docker engine runs.
const { getContainerRuntimeClient } = await import('testcontainers')
const docker = await getContainerRuntimeClient().then(
  () => true,
  () => false,
)
const backends: Backend[] = docker ? ['embedded', 'container'] : ['embedded']

async function version(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ server_version: string }>('show server_version')
    return rows[0]?.server_version ?? ''
  } finally {
    await client.end()
  }
}

describe.each(backends)('%s back-end', (backend) => {
  let server: PostgresServer
  afterAll(() => server?.destroy())

  it('starts PostgreSQL 18, gives isolated databases, and survives stop/start on the same URL', async () => {
    server = await startPostgres({ backend, external: true })
    expect(server.backend).toBe(backend)
    expect(await version(server.url)).toMatch(/^18\./)

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
    await expect(version(server.url)).rejects.toThrow()
    await server.start()
    expect(await version(a.url)).toMatch(/^18\./)
    await a.drop()
    await b.drop()
  })
})

// Only where a Docker engine runs, as above: without one there is no container to look at.
if (docker)
  describe('container back-end on a loaded machine', () => {
    let server: PostgresServer
    afterAll(() => server?.destroy())

    it('runs pg_isready without a shell and with a long timeout, so Docker never orphans one to the postmaster', async () => {
      server = await startPostgres({ backend: 'container', external: true })
      const port = new URL(server.url).port
      const id = execFileSync('docker', ['ps', '-q', '--filter', `publish=${port}`], {
        encoding: 'utf8',
      }).trim()
      const check = JSON.parse(
        execFileSync('docker', ['inspect', '--format', '{{json .Config.Healthcheck}}', id], {
          encoding: 'utf8',
        }),
      ) as { Test: string[]; Timeout: number }
      expect(check.Test.slice(0, 2)).toEqual(['CMD', 'pg_isready'])
      expect(check.Timeout / 1e9).toBeGreaterThanOrEqual(60)
    })
  })
