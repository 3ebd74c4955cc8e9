import http from 'node:http'
import type { Socket } from 'node:net'
import type { DevKey } from './dev-key.ts'

export interface DevIssuer {
  /** http://127.0.0.1:<port>: AUTH_ISSUER, and the `iss` of every token it stands behind. */
  issuer: string
  close(): Promise<void>
}

/**
 * The development identity provider: an OIDC discovery document and a JWKS with the one development
 * key, on loopback, so the service verifies tokens exactly as it would a real provider's. It issues
 * nothing over HTTP (there are no users to log in): `pnpm run token` signs with the same key.
 */
export async function startDevIssuer(options: { key: DevKey; port: number }): Promise<DevIssuer> {
  const { key, port } = options
  const issuer = `http://127.0.0.1:${port}`
  const discovery = JSON.stringify({
    issuer,
    jwks_uri: `${issuer}/jwks`,
    id_token_signing_alg_values_supported: [key.alg],
    response_types_supported: ['token'],
    subject_types_supported: ['public'],
  })
  const jwks = JSON.stringify({ keys: [key.publicJwk] })
  const sockets = new Set<Socket>()
  const server = http.createServer((req, res) => {
    const body =
      req.url === '/.well-known/openid-configuration' ? discovery : req.url === '/jwks' ? jwks : undefined
    if (req.method !== 'GET' || body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
      return
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(body)
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `the development issuer cannot listen on 127.0.0.1:${port} (in use): set DEV_ISSUER_PORT`,
            )
          : error,
      ),
    )
    server.listen(port, '127.0.0.1', resolve)
  })
  return {
    issuer,
    async close() {
      // The service keeps its key-set connection alive; close would wait for it.
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
