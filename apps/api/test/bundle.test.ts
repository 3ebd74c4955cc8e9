import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestDatabase, freePort, otlpReceiver, type TestDatabase } from '@stack/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migratedDatabase } from './helpers.js'
import { BUNDLE, request, startServer } from './process.js'

// What every image runs: `node dist/server.bundle.js` (stack-bundle), from a directory that is not
// the package's, so that nothing it finds depends on where it was started.

let migrated: TestDatabase
let empty: TestDatabase
beforeAll(async () => {
  ;[migrated, empty] = await Promise.all([migratedDatabase(), createTestDatabase()])
})
afterAll(async () => {
  await Promise.all([migrated?.drop(), empty?.drop()])
})

const elsewhere = () => mkdtempSync(join(tmpdir(), 'bundle-cwd-'))

async function bundled(env: Record<string, string>) {
  return startServer(
    { METRICS_PORT: String(await freePort()), SHUTDOWN_DELAY_MS: '0', LOG_LEVEL: 'info', ...env },
    { entry: BUNDLE, cwd: elsewhere() },
  )
}

/** Readiness, polled until `status` (a bound for a hang: a loaded machine starts slowly). */
async function readiness(url: string, status: number) {
  const deadline = performance.now() + 60_000
  for (;;) {
    const res = await request(`${url}/health/ready`)
    if (res.status === status || performance.now() > deadline) return res
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

describe('node dist/server.bundle.js', () => {
  it('becomes ready against a migrated database, and exits 0 on SIGTERM', async () => {
    const server = await bundled({ DATABASE_URL: migrated.url })
    try {
      const res = await readiness(server.url, 200)
      expect(res.status).toBe(200)
      expect(JSON.parse(res.body).checks).toMatchObject({
        database: { status: 'ok' },
        migrations: { status: 'ok' },
      })
      expect((await request(`${server.url}/v1/notes?limit=1`)).status).toBe(200)
      server.child.kill('SIGTERM')
      expect((await server.exited).code).toBe(0)
    } finally {
      server.child.kill('SIGKILL')
    }
  })

  it('reads its migrations from the package root: an empty database is "migrations pending", naming them', async () => {
    const server = await bundled({ DATABASE_URL: empty.url })
    try {
      const res = await readiness(server.url, 503)
      expect(JSON.parse(res.body).checks.migrations).toEqual(
        expect.objectContaining({ status: 'fail', error: 'migrations pending' }),
      )
      const failing = await server.waitForLine('readiness check failing')
      expect(JSON.stringify(server.lines().filter((l) => l.check === 'migrations'))).toContain(
        'pending migrations: 0000_init',
      )
      expect(failing).toBeDefined()
    } finally {
      server.child.kill('SIGKILL')
    }
  })

  it('a configuration error: exit 2 and one line on stderr', async () => {
    const server = await startServer(
      { DATABASE_URL: 'mysql://x' },
      { entry: BUNDLE, cwd: elsewhere(), waitFor: '' },
    )
    expect((await server.exited).code).toBe(2)
    expect(server.stderr()).toMatch(/^api: invalid configuration: DATABASE_URL must be a URL[^\n]*\n$/)
  })

  it('traces pg from the bundle too: pg is required at run time, where the instrumentation patches it', async () => {
    const collector = await otlpReceiver()
    const server = await bundled({ DATABASE_URL: migrated.url, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url })
    try {
      expect((await readiness(server.url, 200)).status).toBe(200)
      // fetch: this test process does not trace, but its node:http client is not what is measured.
      expect((await fetch(`${server.url}/v1/notes?limit=1`)).status).toBe(200)
      server.child.kill('SIGTERM')
      expect((await server.exited).code).toBe(0)
      expect(collector.spanNames()).toEqual(
        expect.arrayContaining(['GET /v1/notes', expect.stringMatching(/^pg\.query/)]),
      )
    } finally {
      server.child.kill('SIGKILL')
      await collector.close()
    }
  })
})
