import http from 'node:http'
import type { Socket } from 'node:net'
import {
  exportJWK,
  exportSPKI,
  type GenerateKeyPairResult,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose'

// A stand-in identity provider on loopback: an OIDC discovery document and a JWKS endpoint serving
// keys from jose's generateKeyPair, and tokens signed with them. Services under test verify real
// signatures fetched over a real socket; the test decides when the endpoint is up, failing or hung,
// and counts what was fetched.

export type IssuerMode = 'up' | 'failing' | 'hanging'

export interface SignOptions {
  /** The header's kid; by default the current key's. Another value names a key nobody publishes. */
  kid?: string
  /** A key of its own (see addKey), to sign with. */
  key?: IssuerKey
  /** Seconds from now; negative for an expired token. Default 300. */
  expiresIn?: number
  /** Seconds from now for `nbf`. */
  notBefore?: number
}

export interface IssuerKey {
  kid: string
  alg: string
  publicJwk: JWK
  /** The public key as SPKI PEM: what an HS256 forgery uses as its "secret". */
  publicPem: string
  privateKey: GenerateKeyPairResult['privateKey']
}

export interface TestIssuer {
  /** http://127.0.0.1:<port>: the value for AUTH_ISSUER (and the tokens' iss). */
  issuer: string
  /** Where the key set is: the value for AUTH_JWKS_URL, or found through discovery. */
  jwksUrl: string
  /** A token for `audience` signed with the current key: claims override the defaults (sub, iss, aud). */
  sign(claims?: JWTPayload, options?: SignOptions): Promise<string>
  /** The classic forgery: HS256 with the current public key (PEM) as the HMAC secret, and its kid. */
  forgeWithPublicKey(claims?: JWTPayload): Promise<string>
  /** A new key pair; published (and made current) unless `publish` is false. */
  addKey(options?: { publish?: boolean; alg?: string }): Promise<IssuerKey>
  /** The key that signs by default. */
  currentKey(): IssuerKey
  /** up: serve; failing: answer 503; hanging: accept and never answer. */
  setMode(mode: IssuerMode): void
  /** How many requests reached the JWKS and discovery endpoints. */
  fetches(): { jwks: number; discovery: number }
  close(): Promise<void>
}

export async function startTestIssuer(options: { audience: string; alg?: string }): Promise<TestIssuer> {
  const published: IssuerKey[] = []
  let current: IssuerKey | undefined
  let mode: IssuerMode = 'up'
  const count = { jwks: 0, discovery: 0 }
  const sockets = new Set<Socket>()
  let issuer = ''

  const server = http.createServer((req, res) => {
    const path = req.url ?? ''
    if (path === '/.well-known/openid-configuration') count.discovery++
    else if (path === '/jwks') count.jwks++
    if (mode === 'hanging') return
    if (mode === 'failing') {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('down')
      return
    }
    if (path === '/.well-known/openid-configuration') {
      json(res, { issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ['RS256'] })
    } else if (path === '/jwks') {
      json(res, { keys: published.map((k) => k.publicJwk) })
    } else {
      res.writeHead(404).end()
    }
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`

  async function addKey(opts: { publish?: boolean; alg?: string } = {}): Promise<IssuerKey> {
    const alg = opts.alg ?? options.alg ?? 'RS256'
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true })
    const kid = `key-${crypto.randomUUID()}`
    const key: IssuerKey = {
      kid,
      alg,
      privateKey,
      publicPem: await exportSPKI(publicKey),
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
    }
    if (opts.publish ?? true) {
      published.push(key)
      current = key
    }
    return key
  }
  await addKey()

  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    async sign(claims = {}, opts = {}) {
      const key = opts.key ?? (current as IssuerKey)
      const now = Math.floor(Date.now() / 1000)
      const jwt = new SignJWT({ sub: 'user-a', iss: issuer, aud: options.audience, ...claims })
        .setProtectedHeader({ alg: key.alg, kid: opts.kid ?? key.kid, typ: 'JWT' })
        .setIssuedAt(now)
        .setExpirationTime(now + (opts.expiresIn ?? 300))
      if (opts.notBefore !== undefined) jwt.setNotBefore(now + opts.notBefore)
      return jwt.sign(key.privateKey)
    },
    forgeWithPublicKey(claims = {}) {
      const key = current as IssuerKey
      return new SignJWT({ sub: 'user-a', iss: issuer, aud: options.audience, ...claims })
        .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'JWT' })
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(key.publicPem))
    },
    addKey,
    currentKey: () => current as IssuerKey,
    setMode(next) {
      mode = next
    },
    fetches: () => ({ ...count }),
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function json(res: http.ServerResponse, body: unknown) {
  res
    .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' })
    .end(JSON.stringify(body))
}

/** A compact JWS with this header and payload and an empty signature: the `alg: none` forgery. */
export function unsignedToken(header: Record<string, unknown>, payload: JWTPayload): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  return `${part(header)}.${part(payload)}.`
}
