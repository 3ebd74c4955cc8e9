import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { loadConfig, pressureVars, serverVars } from '@stack/config'
import { connect, type RawResponse, rawRequest, readResponse } from '@stack/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { createService, PROBLEM_TYPE, type Service } from '../src/index.js'

// What reaches a socket before (or instead of) routing: malformed requests that Node's parser
// rejects, and requests too slow to finish. Real sockets against a listening service.

const TIMEOUT_MS = 2000
let app: Service | undefined
afterEach(async () => {
  await app?.close()
  app = undefined
})

async function listening(env: Record<string, string> = {}): Promise<number> {
  app = await createService(loadConfig({ ...serverVars, ...pressureVars }, env), {
    name: 'test',
    logger: false,
  })
  app.post('/echo', async (req) => ({ got: req.body }))
  await app.listen({ host: '127.0.0.1', port: 0 })
  return (app.server.address() as AddressInfo).port
}

/** Writes `text` one byte every `everyMs` until the socket closes or `text` runs out. */
async function trickle(socket: import('node:net').Socket, text: string, everyMs: number) {
  for (const byte of text) {
    if (socket.destroyed || socket.writableEnded) return
    socket.write(byte)
    await sleep(everyMs)
  }
}

function expectProblem(res: RawResponse, status: number) {
  expect(res.status).toBe(status)
  expect(res.headers['content-type']).toContain(PROBLEM_TYPE)
  const body = JSON.parse(res.body)
  expect(body).toMatchObject({ type: 'about:blank', status })
  expect(body.code).toMatch(/^[A-Z_]+$/)
  expect(body.requestId).toBe(res.headers['x-request-id'])
  expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
  // The same security headers as every routed response.
  expect(res.headers['x-content-type-options']).toBe('nosniff')
  expect(res.headers['content-security-policy']).toContain("default-src 'none'")
  expect(res.headers['x-frame-options']).toBe('DENY')
  return body
}

describe('slow clients are cut at REQUEST_TIMEOUT_MS', () => {
  // Far below Node's 60 s headersTimeout and its 30 s check interval, generous for a loaded machine.
  const BOUND_MS = 3 * TIMEOUT_MS + 5000

  it('a body sent a byte at a time gets a 408 within the bound', async () => {
    const port = await listening({ REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) })
    const socket = await connect(port)
    const started = performance.now()
    const answer = readResponse(socket, 90_000)
    socket.write(
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n',
    )
    void trickle(socket, `"${'a'.repeat(198)}"`, 200)
    const res = await answer
    const elapsed = performance.now() - started
    socket.destroy()
    expect(res.status).toBe(408)
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 100)
    expect(elapsed).toBeLessThan(BOUND_MS)
  }, 120_000)

  it('headers sent a byte at a time get a 408 within the bound', async () => {
    const port = await listening({ REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) })
    const socket = await connect(port)
    const started = performance.now()
    const answer = readResponse(socket, 90_000)
    void trickle(socket, `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(400)}\r\n\r\n`, 200)
    const res = await answer
    const elapsed = performance.now() - started
    socket.destroy()
    expect(res.status).toBe(408)
    expect(elapsed).toBeLessThan(BOUND_MS)
  }, 120_000)
})
