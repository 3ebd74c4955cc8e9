import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { loadConfig, pressureVars, serverVars } from '@stack/config'
import { connect, type RawResponse, rawRequest, readResponse } from '@stack/testing'
import { pino } from 'pino'
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

let lines: Record<string, unknown>[] = []

async function listening(env: Record<string, string> = {}): Promise<number> {
  lines = []
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  app = await createService(loadConfig({ ...serverVars, ...pressureVars }, env), { name: 'test', logger })
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
    expectProblem(res, 408)
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 100)
    expect(elapsed).toBeLessThan(BOUND_MS)
    // The request had begun: it ends once, as the 408 it was answered with, not as abandoned.
    await sleep(100)
    const ended = lines.filter((l) => l.msg === 'request completed')
    expect(ended).toMatchObject([{ method: 'POST', url: '/echo', status: 408 }])
    expect(ended[0]).not.toHaveProperty('aborted')
    expect(lines.filter((l) => l.msg === 'client error')).toEqual([])
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

describe('errors raised before routing are problem+json with the security headers', () => {
  const cases: [string, string, number][] = [
    [
      'a duplicate Content-Length',
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
      400,
    ],
    [
      'Content-Length with Transfer-Encoding',
      'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
    ],
    ['an unknown method', 'FOO /health/live HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    [
      'headers over 16 KB',
      `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`,
      431,
    ],
    ['HTTP/1.1 without Host', 'GET /x HTTP/1.1\r\n\r\n', 400],
    ['a malformed request line', 'GET /health/live HTTP/9.x\r\nHost: x\r\n\r\n', 400],
    ['a malformed header', 'GET /health/live HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n', 400],
  ]

  for (const [what, payload, status] of cases) {
    it(`${what}: ${status}`, async () => {
      const port = await listening()
      const res = await rawRequest(port, payload)
      const body = expectProblem(res, status)
      expect(res.headers.connection).toBe('close')
      // One log line for it, whether Node's parser or the app refused it.
      await sleep(100)
      const logged = lines.filter((l) => l.reqId === body.requestId)
      expect(logged).toMatchObject([{ status }])
    })
  }

  it('a URL Fastify cannot decode (frameworkErrors): 400, logged once', async () => {
    const port = await listening()
    const res = await rawRequest(port, 'GET /v1/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    const body = expectProblem(res, 400)
    expect(body.code).toBe('FST_ERR_BAD_URL')
    await sleep(100)
    expect(lines.filter((l) => l.reqId === body.requestId)).toMatchObject([
      { msg: 'request completed', status: 400 },
    ])
  })

  it('a request timeout: 408', async () => {
    const port = await listening({ REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) })
    const socket = await connect(port)
    const answer = readResponse(socket, 90_000)
    socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n')
    const body = expectProblem(await answer, 408)
    expect(body.code).toBe('SVC_REQUEST_TIMEOUT')
    socket.destroy()
  }, 120_000)

  it('HTTP/1.0 needs no Host, and a well-formed request is answered as before', async () => {
    const port = await listening()
    expect((await rawRequest(port, 'GET /health/live HTTP/1.0\r\n\r\n')).status).toBe(200)
    expect(
      (await rawRequest(port, 'GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status,
    ).toBe(200)
  })
})
