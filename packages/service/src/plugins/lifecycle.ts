import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { clientErrorStatus } from '../client-error.js'

/**
 * The status recorded for a request whose client closed the connection before the answer was
 * sent: nginx's 499 "client closed request", the usual convention in Prometheus dashboards.
 */
export const CLIENT_CLOSED_REQUEST = 499

/** How a request ended, reported once per request whether it was answered or abandoned. */
export interface RequestEnd {
  req: FastifyRequest
  reply: FastifyReply
  /** What the client received; CLIENT_CLOSED_REQUEST when it went away first. */
  status: number
  /** True when the connection closed before the whole response was written. */
  aborted: boolean
  durationMs: number
}

export interface InflightRequest {
  id: string
  method: string
  url: string
  ms: number
}

export interface Lifecycle {
  /** True from the first SIGTERM on: readiness answers 503 and responses carry `Connection: close`. */
  readonly shuttingDown: boolean
  beginShutdown(): void
  /** Requests not yet answered, oldest first: what a missed deadline names. */
  inflight(): InflightRequest[]
  /** Open client connections, idle keep-alive ones included. */
  connections(): number
  /** Follows a request that never ran the onRequest hooks (one answered by `frameworkErrors`). */
  track(req: FastifyRequest, reply: FastifyReply): void
  /** Calls `listener` once for every request as it leaves the in-flight list (the request log, metrics). */
  onRequestEnd(listener: (end: RequestEnd) => void): void
}

declare module 'fastify' {
  interface FastifyInstance {
    lifecycle: Lifecycle
  }
}

async function lifecycle(app: FastifyInstance) {
  let shuttingDown = false
  const inflight = new Map<FastifyRequest, number>()
  let sockets = 0

  app.addHook('onListen', async () => {
    app.server.on('connection', (socket) => {
      sockets++
      socket.once('close', () => sockets--)
    })
  })

  // One end per request, from the response's 'close': it fires once, after 'finish' for an answered
  // request and on its own when the connection closed first. onResponse fires only on 'finish' and
  // onRequestAbort only for a body cut short, so a client that sent its whole request and left
  // before the answer used to stay in flight (and unlogged, unmeasured) forever.
  const listeners: ((end: RequestEnd) => void)[] = []
  const track = (req: FastifyRequest, reply: FastifyReply) => {
    if (inflight.has(req)) return
    inflight.set(req, performance.now())
    reply.raw.once('close', () => {
      inflight.delete(req)
      // Not finished: the client left, or a client error (a 408 for a body too slow) answered it.
      const cutShort = reply.raw.writableFinished ? undefined : clientErrorStatus(req.raw.socket)
      const aborted = !reply.raw.writableFinished && cutShort === undefined
      const end: RequestEnd = {
        req,
        reply,
        status: cutShort ?? (aborted ? CLIENT_CLOSED_REQUEST : reply.statusCode),
        aborted,
        durationMs: reply.elapsedTime,
      }
      for (const listener of listeners) listener(end)
    })
  }
  app.addHook('onRequest', (req, reply, done) => {
    track(req, reply)
    done()
  })

  // During the drain the proxy still sends some requests here; answering them with
  // `Connection: close` moves each client to a fresh connection on another replica.
  app.addHook('onSend', async (_req, reply) => {
    if (shuttingDown) reply.header('connection', 'close')
  })

  app.decorate('lifecycle', {
    get shuttingDown() {
      return shuttingDown
    },
    beginShutdown() {
      shuttingDown = true
    },
    inflight() {
      const now = performance.now()
      return [...inflight].map(([req, started]) => ({
        id: req.id,
        method: req.method,
        url: req.url,
        ms: Math.round(now - started),
      }))
    },
    connections: () => sockets,
    track,
    onRequestEnd(listener) {
      listeners.push(listener)
    },
  } satisfies Lifecycle)
}

export default fp(lifecycle, { name: 'lifecycle', fastify: '5.x' })
