import http from 'node:http'

// A stand-in OTLP/HTTP collector on loopback: what a service's trace exporter posts, kept as it came,
// so a test can read the spans of a real process (tracing is on when OTEL_EXPORTER_OTLP_ENDPOINT is set).

export interface OtlpPost {
  path: string
  headers: http.IncomingHttpHeaders
  /** The body as text: JSON with the exporter's `application/json` protocol. */
  body: string
}

export interface OtlpReceiver {
  /** http://127.0.0.1:<port>: the value for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string
  /** Every request received so far (a live array). */
  posts: OtlpPost[]
  /** The span names in every post so far. */
  spanNames(): string[]
  close(): Promise<void>
}

export async function otlpReceiver(): Promise<OtlpReceiver> {
  const posts: OtlpPost[] = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      posts.push({ path: req.url ?? '', headers: req.headers, body })
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${port}`,
    posts,
    spanNames: () =>
      posts.flatMap((p) => [...p.body.matchAll(/"name":"([^"]+)"/g)].map((m) => m[1] as string)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
