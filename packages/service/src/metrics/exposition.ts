import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'

export interface Exposition {
  contentType: string
  body: string
}

export interface ExpositionServer {
  address(): AddressInfo
  close(): Promise<void>
}

/**
 * GET /metrics on a plain node:http server of its own: it shares nothing with the app's listener, so
 * the proxy never routes to it, load shedding never answers it, and the request log and per-route
 * metrics never count it. Unref'd: it never keeps the process alive.
 */
export async function listenExposition(
  opts: { host: string; port: number; log: FastifyBaseLogger },
  render: () => Promise<Exposition>,
): Promise<ExpositionServer> {
  const server: Server = createServer((req, res) => {
    const path = req.url?.split('?')[0]
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics\n')
      return
    }
    render().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' })
        res.end(req.method === 'HEAD' ? undefined : body)
      },
      (err: Error) => {
        opts.log.error({ err }, 'metrics collection failed')
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n')
      },
    )
  })
  // A scrape never takes long; a stuck client must not hold a socket for Node's 5 minutes.
  server.requestTimeout = 10_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  // Without a listener an 'error' (EMFILE on accept, say) would end the whole process.
  server.on('error', (err) => opts.log.error({ err }, 'metrics server error'))
  server.unref()

  return {
    address: () => server.address() as AddressInfo,
    async close() {
      const closed = once(server, 'close')
      server.close()
      // A scraper keeps its connection alive between scrapes: it must not hold up the shutdown.
      server.closeAllConnections()
      await closed
    },
  }
}
