import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { databaseVars, loadConfig, pressureVars, serverVars } from '@stack/config'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { CheckFailedError } from '../src/errors.js'
import { createService, isDatabaseUnavailable, parseTrustProxy, type Service } from '../src/index.js'

// A service's migrations, as drizzle-kit writes them; the plumbing knows no service's tables.
const migrationsFolder = fileURLToPath(new URL('fixtures/drizzle', import.meta.url))

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
      broken: { status: 'fail', error: 'failed' },
      hung: { status: 'fail', error: 'no answer within 200 ms' },
    })
  })

  it('shows a reason only when the check wrote one to be shown', async () => {
    const svc = await service()
    svc.readiness.add('internal', async () => {
      throw new Error('connect ECONNREFUSED 10.1.2.3:5432')
    })
    svc.readiness.add('explained', async () => {
      throw new CheckFailedError('queue unreachable')
    })
    await svc.ready()
    const res = await svc.inject({ method: 'GET', url: '/health/ready' })
    expect(res.json().checks).toMatchObject({
      internal: { status: 'fail', error: 'failed' },
      explained: { status: 'fail', error: 'queue unreachable' },
    })
    expect(res.body).not.toContain('10.1.2.3')
  })

  it('with the database down: the body names the check, the address is only in the log', async () => {
    // A port nobody listens on: a real connection refused.
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as { port: number }
    await new Promise((resolve) => server.close(resolve))

    const lines: string[] = []
    const config = loadConfig(
      { ...serverVars, ...pressureVars, ...databaseVars },
      { DATABASE_URL: `postgres://app:pw@127.0.0.1:${port}/app`, DATABASE_PING_TIMEOUT_MS: '5000' },
    )
    app = await createService(config, {
      name: 'test',
      logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
      database: { config, schema: {}, migrationsFolder },
      readinessTimeoutMs: 10_000,
    })
    await app.ready()
    const res = await app.inject({ method: 'GET', url: '/health/ready' })
    expect(res.statusCode).toBe(503)
    expect(res.json().checks.database).toMatchObject({ status: 'fail', error: 'database unreachable' })
    expect(res.body).not.toContain(String(port))
    expect(res.body).not.toContain('ECONNREFUSED')
    expect(res.body).not.toContain('127.0.0.1')
    const failing = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'readiness check failing')
    expect(failing.map((l) => l.check).sort()).toEqual(['database', 'migrations'])
    expect(JSON.stringify(failing)).toContain(`127.0.0.1:${port}`)
    // Only when a check starts failing: a second probe adds no line.
    await app.inject({ method: 'GET', url: '/health/ready' })
    expect(lines.filter((l) => l.includes('readiness check failing'))).toHaveLength(2)
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
  it('recognises a database host without a route to it, as the migrator does (one list for both)', () => {
    expect(isDatabaseUnavailable(withCode('connect EHOSTUNREACH 10.9.9.9:5432', 'EHOSTUNREACH'))).toBe(true)
    expect(isDatabaseUnavailable(withCode('connect ENETUNREACH 10.9.9.9:5432', 'ENETUNREACH'))).toBe(true)
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
