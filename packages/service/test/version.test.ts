import { loadConfig, pressureVars, serverVars } from '@stack/config'
import { afterEach, describe, expect, it } from 'vitest'
import { createService, type Service, VERSION_HEADER } from '../src/index.js'

let app: Service | undefined
afterEach(async () => {
  await app?.close()
  app = undefined
})

describe('the version header', () => {
  it('names SERVICE_VERSION on every response: routed, probes, 404 and errors', async () => {
    app = await createService(loadConfig({ ...serverVars, ...pressureVars }, { SERVICE_VERSION: 'v2.1' }), {
      name: 'test',
      logger: false,
    })
    app.get('/boom', async () => {
      throw new Error('boom')
    })
    await app.ready()
    expect(VERSION_HEADER).toBe('x-service-version')
    for (const url of ['/health/live', '/health/ready', '/missing', '/boom']) {
      const res = await app.inject({ method: 'GET', url })
      expect(res.headers[VERSION_HEADER], url).toBe('v2.1')
    }
    expect((await app.inject({ method: 'GET', url: '/missing' })).statusCode).toBe(404)
  })

  it('says dev when SERVICE_VERSION is not set', async () => {
    app = await createService(loadConfig({ ...serverVars, ...pressureVars }, {}), {
      name: 'test',
      logger: false,
    })
    const res = await app.inject({ method: 'GET', url: '/health/live' })
    expect(res.headers[VERSION_HEADER]).toBe('dev')
  })
})
