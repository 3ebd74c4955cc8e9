import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { DevKey } from './dev-key.js'

export interface DevIssuerOptions {
  key: DevKey
  /** The `iss` of every token it stands behind, and the base of its URLs: how the services reach it. */
  issuer: string
  /** Where it listens: loopback for `pnpm dev`, 0.0.0.0 in its container. */
  host: string
  /** 0 picks a free one (tests). */
  port: number
}

export interface DevIssuer {
  issuer: string
  /** The port it listens on. */
  port: number
  close(): Promise<void>
}

/**
 * The development identity provider: an OIDC discovery document and a JWKS with the one development
 * key, so a service verifies tokens exactly as it would a real provider's. It issues nothing over HTTP
 * (there are no users to log in): whoever holds the key signs (`pnpm run token`, or the image's
 * dist/token.js through `docker compose exec`). /health/live and /health/ready answer as every image's
 * health check expects.
 */
export async function startDevIssuer(options: DevIssuerOptions): Promise<DevIssuer> {
  const { key, host, port } = options
  const issuer = options.issuer.replace(/\/+$/, '')
  const bodies = new Map([
    [
      '/.well-known/openid-configuration',
      JSON.stringify({
        issuer,
        jwks_uri: `${issuer}/jwks`,
        id_token_signing_alg_values_supported: [key.alg],
        response_types_supported: ['token'],
        subject_types_supported: ['public'],
      }),
    ],
    ['/jwks', JSON.stringify({ keys: [key.publicJwk] })],
    ['/health/live', JSON.stringify({ status: 'ok' })],
    ['/health/ready', JSON.stringify({ status: 'ok' })],
  ])
  const sockets = new Set<Socket>()
  const server = http.createServer((req, res) => {
    // The query string does not change what is served (a cache-busting client adds one).
    const body = bodies.get((req.url ?? '').split('?')[0] as string)
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('method not allowed\n')
    } else {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body)
    }
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`the development issuer cannot listen on ${host}:${port} (in use): set DEV_ISSUER_PORT`)
          : error,
      ),
    )
    server.listen(port, host, resolve)
  })
  return {
    issuer,
    port: (server.address() as AddressInfo).port,
    async close() {
      // Services keep their key-set connection alive; close would wait for them.
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
