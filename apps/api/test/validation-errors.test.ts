import type { TestDatabase } from '@stack/testing'
import { NO_SHEDDING } from '@stack/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migratedDatabase, testApp } from './helpers.js'

let database: TestDatabase
let app: Awaited<ReturnType<typeof testApp>>

beforeAll(async () => {
  database = await migratedDatabase()
  // Not a test of shedding: on a loaded machine a busy event loop must not turn answers into 503s.
  app = await testApp({ DATABASE_URL: database.url, ...NO_SHEDDING })
})
afterAll(async () => {
  await app?.close()
  await database?.drop()
})

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

/** `{"title":"t","aaa":0,"aab":0,…}`: `count` distinct unknown keys, under the 1 MB body limit. */
function unknownKeys(count: number): string {
  const parts = ['"title":"t"']
  for (let i = 0; i < count; i++) {
    const key = [i % 62, Math.floor(i / 62) % 62, Math.floor(i / 3844) % 62].map((d) => ALPHABET[d]).join('')
    parts.push(`"${key}":0`)
  }
  return `{${parts.join(',')}}`
}

describe('validation errors are bounded whatever the body', () => {
  it('120,000 unknown keys: a small 400 that still names the first problem', async () => {
    const payload = unknownKeys(120_000)
    expect(payload.length).toBeLessThan(1_048_576)
    for (const [method, url] of [
      ['POST', '/v1/notes'],
      ['PATCH', '/v1/notes/00000000-0000-4000-8000-000000000000'],
    ] as const) {
      const started = performance.now()
      const res = await app.inject({ method, url, payload, headers: { 'content-type': 'application/json' } })
      // A figure for the report, not a verdict: this machine's speed varies.
      console.info(
        `${method}: ${res.statusCode}, ${res.body.length} bytes in ${(performance.now() - started).toFixed(0)} ms`,
      )
      expect(res.statusCode).toBe(400)
      expect(res.body.length).toBeLessThan(4096)
      const problem = res.json()
      expect(problem.code).toBe('VALIDATION_FAILED')
      expect(problem.errors.length).toBeGreaterThanOrEqual(1)
      expect(problem.errors[0]).toMatchObject({ field: 'body', message: expect.stringMatching(/additional/) })
    }
  })

  it('a long unknown key is not echoed back at length', async () => {
    const key = 'k'.repeat(500_000)
    const res = await app.inject({ method: 'POST', url: '/v1/notes', payload: { title: 't', [key]: 1 } })
    expect(res.statusCode).toBe(400)
    expect(res.body.length).toBeLessThan(4096)
  })
})
