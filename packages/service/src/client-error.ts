import { randomUUID } from 'node:crypto'
import { type ServerResponse, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance } from 'fastify'
import {
  HeadersTooLargeError,
  MalformedRequestError,
  RequestTimeoutError,
  UnknownMethodError,
} from './errors.js'
import { PROBLEM_TYPE } from './plugins/problem.js'
import { SECURITY_HEADERS } from './plugins/security.js'
import { REQUEST_ID_HEADER } from './request-id.js'
import type { Problem } from './schemas.js'

/** What Node's `clientError` event hands over: a parser error (HPE_*) or a timeout. */
type ClientError = Error & { code?: string; reason?: string; bytesParsed?: number }

const answered = new WeakMap<Socket, number>()

/** The status a client error answered on `socket` with, if one did: a request cut short by it ends with it. */
export function clientErrorStatus(socket: Socket | null | undefined): number | undefined {
  return socket ? answered.get(socket) : undefined
}

function classify(err: ClientError, timeoutMs: number): FastifyError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new RequestTimeoutError(timeoutMs)
    case 'HPE_HEADER_OVERFLOW':
      return new HeadersTooLargeError()
    case 'HPE_INVALID_METHOD':
      return new UnknownMethodError()
    default:
      // llhttp's reasons are fixed phrases about the request ("Duplicate Content-Length"): safe to show.
      return new MalformedRequestError(err.reason ?? err.code ?? 'cannot be parsed')
  }
}

/**
 * Fastify's `clientErrorHandler`: requests Node's HTTP parser rejects (duplicate Content-Length,
 * Content-Length with Transfer-Encoding, an unknown method, headers over the limit, a malformed
 * line) and requests that did not arrive within REQUEST_TIMEOUT_MS never reach routing, and
 * Fastify's default answers them with its own JSON and none of our headers. They get a
 * problem+json like every other error, the security headers, a request id, and Connection: close.
 */
export function clientErrorHandler(timeoutMs: number) {
  return function onClientError(this: FastifyInstance, err: ClientError, socket: Socket) {
    // A reset connection has no one to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const error = classify(err, timeoutMs)
    const status = error.statusCode ?? 400
    const requestId = randomUUID()
    // A response already under way on this connection (keep-alive) cannot be followed by another.
    const current = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage
    if (!current) {
      this.log.info({ reqId: requestId, status, code: error.code, reason: err.message }, 'client error')
    }
    if (!socket.writable || current?.headersSent) {
      socket.destroy()
      return
    }
    const body: Problem = {
      type: 'about:blank',
      title: STATUS_CODES[status] ?? 'Error',
      status,
      detail: error.message,
      // No request line was parsed to point at: the id names this occurrence.
      instance: `urn:uuid:${requestId}`,
      code: error.code,
      requestId,
    }
    const payload = JSON.stringify(body)
    const headers = {
      ...SECURITY_HEADERS,
      'content-type': `${PROBLEM_TYPE}; charset=utf-8`,
      'content-length': String(Buffer.byteLength(payload)),
      [REQUEST_ID_HEADER]: requestId,
      connection: 'close',
    }
    answered.set(socket, status)
    const head = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('')
    socket.end(`HTTP/1.1 ${status} ${body.title}\r\n${head}\r\n${payload}`, () => socket.destroy())
  }
}
