import { setTimeout as sleep } from 'node:timers/promises'
import { loadConfig, pressureVars, serverVars } from '@stack/config'
import { afterEach, describe, expect, it } from 'vitest'
import { createService, isDatabaseUnavailable, parseTrustProxy, type Service } from '../src/index.js'

let app: Service | undefined
afterEach(async () => {
  await app?.close()
  app = undefined
})

async function service(): Promise<Service> {
  app = await createService(loadConfig({ ...serverVars, ...pressureVars }, {}), {
    name: 'test',
    logger: false,
    readinessTimeoutMs: 200,
  })
  return app
}

describe('readiness', () => {
  it('shares one run of the checks among concurrent probes', async () => {
    const svc = await service()
    let runs = 0
    svc.readiness.add('slow', async () => {
      runs++
      await sleep(50)
    })
    await svc.ready()
    const answers = await Promise.all(
      Array.from({ length: 25 }, () => svc.inject({ method: 'GET', url: '/health/ready' })),
    )
    expect(answers.every((a) => a.statusCode === 200)).toBe(true)
    expect(runs).toBe(1)
    await svc.inject({ method: 'GET', url: '/health/ready' })
    expect(runs).toBe(2)
  })

  it('fails a check that rejects or outlives the timeout, naming it', async () => {
    const svc = await service()
    svc.readiness.add('broken', async () => {
      throw new Error('nope')
    })
    svc.readiness.add('hung', () => new Promise(() => {}))
    await svc.ready()
    const started = performance.now()
    const res = await svc.inject({ method: 'GET', url: '/health/ready' })
    expect(performance.now() - started).toBeLessThan(1000)
    expect(res.statusCode).toBe(503)
    expect(res.json().checks).toMatchObject({
      broken: { status: 'fail', error: 'nope' },
      hung: { status: 'fail', error: 'no answer within 200 ms' },
    })
  })
})

describe('parseTrustProxy', () => {
  it('understands booleans, hop counts and address lists', () => {
    expect(parseTrustProxy('true')).toBe(true)
    expect(parseTrustProxy('false')).toBe(false)
    const hops = parseTrustProxy('2') as (a: string, hop: number) => boolean
    expect([hops('x', 0), hops('x', 1), hops('x', 2)]).toEqual([true, true, false])
    expect(parseTrustProxy('10.0.0.0/8, 127.0.0.1')).toEqual(['10.0.0.0/8', '127.0.0.1'])
  })
})

describe('isDatabaseUnavailable', () => {
  const withCode = (message: string, code?: string) => Object.assign(new Error(message), { code })
  it('recognises connection failures, also wrapped as drizzle wraps them', () => {
    expect(isDatabaseUnavailable(withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'))).toBe(true)
    expect(isDatabaseUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true)
    expect(
      isDatabaseUnavailable(withCode('terminating connection due to administrator command', '57P01')),
    ).toBe(true)
    expect(
      isDatabaseUnavailable(new Error('Failed query: select 1', { cause: withCode('x', 'ECONNRESET') })),
    ).toBe(true)
  })
  it('does not take a query error for an outage', () => {
    expect(isDatabaseUnavailable(withCode('duplicate key value violates unique constraint', '23505'))).toBe(
      false,
    )
    expect(
      isDatabaseUnavailable(new Error('Failed query', { cause: withCode('syntax error', '42601') })),
    ).toBe(false)
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false)
  })
})
