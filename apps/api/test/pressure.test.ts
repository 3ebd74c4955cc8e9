import { setTimeout as sleep } from 'node:timers/promises'
import type { TestDatabase } from '@stack/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migratedDatabase, testApp } from './helpers.js'

let database: TestDatabase
beforeAll(async () => {
  database = await migratedDatabase()
})
afterAll(() => database?.drop())

describe('load shedding', () => {
  it('a forced threshold sheds /v1 routes with 503, Retry-After and problem+json; probes are never shed', async () => {
    // A 1-byte heap limit: every sample is over it.
    const app = await testApp({
      DATABASE_URL: database.url,
      PRESSURE_MAX_HEAP_USED_BYTES: '1',
      PRESSURE_SAMPLE_INTERVAL_MS: '100',
      PRESSURE_RETRY_AFTER_S: '7',
    })
    try {
      // Two samples: the first can still include the event-loop delay of start-up itself.
      await sleep(250)
      const shed = await app.inject({ method: 'GET', url: '/v1/notes' })
      expect(shed.statusCode).toBe(503)
      expect(shed.headers['retry-after']).toBe('7')
      expect(shed.headers['content-type']).toMatch(/^application\/problem\+json/)
      expect(shed.json()).toMatchObject({ status: 503, code: 'SVC_OVERLOADED' })
      expect(shed.json().detail).toMatch(/heapUsedBytes/)

      const write = await app.inject({ method: 'POST', url: '/v1/notes', payload: { title: 'x' } })
      expect(write.statusCode).toBe(503)
      expect(app.pressure.shed).toBe(2)

      expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200)
      const ready = await app.inject({ method: 'GET', url: '/health/ready' })
      expect(ready.statusCode).toBe(200)
    } finally {
      await app.close()
    }
  })

  it('a forced RSS threshold sheds with reason rssBytes (the memory in use is over it too)', async () => {
    // 1 byte: RSS and the memory in use are both over it on every sample.
    const app = await testApp({
      DATABASE_URL: database.url,
      PRESSURE_MAX_RSS_BYTES: '1',
      PRESSURE_SAMPLE_INTERVAL_MS: '100',
    })
    try {
      await sleep(250)
      const shed = await app.inject({ method: 'GET', url: '/v1/notes' })
      expect(shed.statusCode).toBe(503)
      expect(shed.json().detail).toMatch(/rssBytes/)
      expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200)
    } finally {
      await app.close()
    }
  })

  it('with default thresholds nothing is shed', async () => {
    const app = await testApp({ DATABASE_URL: database.url, PRESSURE_SAMPLE_INTERVAL_MS: '100' })
    try {
      await sleep(250)
      expect((await app.inject({ method: 'GET', url: '/v1/notes' })).statusCode).toBe(200)
      expect(app.pressure.shed).toBe(0)
      expect(app.pressure.thresholds.maxHeapUsedBytes).toBeGreaterThan(50 * 1024 * 1024)
    } finally {
      await app.close()
    }
  })

  it('the default heap threshold is 90 % of the old space that NODE_OPTIONS gives V8', async () => {
    // As compose.yaml and deploy/k8s set it. Not 90 % of heap_size_limit, which counts the young
    // generation too: this process's own V8 limit is not read when the option names the old space.
    const app = await testApp({
      DATABASE_URL: database.url,
      NODE_OPTIONS: '--max-old-space-size=160 --max-semi-space-size=8',
    })
    try {
      expect(app.pressure.thresholds.maxHeapUsedBytes).toBe(Math.floor(160 * 1024 * 1024 * 0.9))
    } finally {
      await app.close()
    }
  })
})
