import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

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

  app.addHook('onRequest', async (req) => {
    inflight.set(req, performance.now())
  })
  const done = async (req: FastifyRequest) => {
    inflight.delete(req)
  }
  app.addHook('onResponse', done)
  app.addHook('onRequestAbort', done)

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
  } satisfies Lifecycle)
}

export default fp(lifecycle, { name: 'lifecycle', fastify: '5.x' })
