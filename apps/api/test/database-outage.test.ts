import { setTimeout as sleep } from 'node:timers/promises'
import { runMigrations } from '@stack/migrate'
import { createTestDatabase, type PostgresServer, startPostgres, testMigrationsFolder } from '@stack/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrationsFolder } from '../src/db/migrations.js'
import { testApp } from './helpers.js'

// A PostgreSQL server of this file's own, so it can be stopped and started under the app.
let server: PostgresServer
let url: string
let app: Awaited<ReturnType<typeof testApp>>

beforeAll(async () => {
  server = await startPostgres({ external: true })
  const database = await createTestDatabase(server.url)
  url = database.url
  await runMigrations({
    url,
    migrationsFolder: testMigrationsFolder(migrationsFolder),
    waitTimeoutMs: 10_000,
    lockTimeoutMs: 10_000,
  })
})
afterAll(async () => {
  await app?.close()
  await server?.destroy()
})

async function waitForStatus(path: string, status: number, timeoutMs: number): Promise<number> {
  const started = performance.now()
  for (;;) {
    const res = await app.inject({ method: 'GET', url: path })
    if (res.statusCode === status) return performance.now() - started
    if (performance.now() - started > timeoutMs)
      throw new Error(`${path} still ${res.statusCode} after ${timeoutMs} ms`)
    await sleep(100)
  }
}

// A request must end within the pool's 1 s connect timeout, not wait for the operating system's
// connect timeout (minutes) or the test's own: a bound far from both, so a slow machine passes.
const WAIT_BOUND_MS = 10_000

describe('the database goes away and comes back', () => {
  it('down at start: live 200, ready 503, notes 503 within the connect timeout; ready once it is up, without a restart', async () => {
    await server.stop()
    app = await testApp({
      DATABASE_URL: url,
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
      DATABASE_PING_TIMEOUT_MS: '500',
    })

    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200)
    const ready = await app.inject({ method: 'GET', url: '/health/ready' })
    expect(ready.statusCode).toBe(503)
    expect(ready.json().checks.database.status).toBe('fail')

    const started = performance.now()
    const notes = await app.inject({ method: 'GET', url: '/v1/notes' })
    expect(performance.now() - started).toBeLessThan(WAIT_BOUND_MS)
    expect(notes.statusCode).toBe(503)
    expect(notes.headers['content-type']).toMatch(/^application\/problem\+json/)
    expect(notes.headers['retry-after']).toBe('1')
    expect(notes.json()).toMatchObject({
      code: 'DB_UNAVAILABLE',
      detail: 'The database is unavailable; retry later.',
    })

    await server.start()
    const recoveredMs = await waitForStatus('/health/ready', 200, 20_000)
    console.info(`ready ${recoveredMs.toFixed(0)} ms after the database came up`)
    expect(
      (await app.inject({ method: 'POST', url: '/v1/notes', payload: { title: 'after outage' } })).statusCode,
    ).toBe(201)
  })

  it('stopped while running: ready 503, writes 503 within the connect timeout, no crash; recovery when it returns', async () => {
    // Warm the pool so that idle connections die with the server (pg emits errors on them).
    await Promise.all(Array.from({ length: 5 }, () => app.inject({ method: 'GET', url: '/v1/notes' })))
    await server.stop()

    await waitForStatus('/health/ready', 503, 5000)
    for (let i = 0; i < 3; i++) {
      const started = performance.now()
      const res = await app.inject({ method: 'POST', url: '/v1/notes', payload: { title: 'during outage' } })
      expect(performance.now() - started).toBeLessThan(WAIT_BOUND_MS)
      expect(res.statusCode).toBe(503)
      expect(res.json().code).toBe('DB_UNAVAILABLE')
    }
    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200)

    await server.start()
    await waitForStatus('/health/ready', 200, 20_000)
    const list = await app.inject({ method: 'GET', url: '/v1/notes' })
    expect(list.statusCode).toBe(200)
    expect(list.json().items.map((n: { title: string }) => n.title)).toEqual(['after outage'])
  })
})
