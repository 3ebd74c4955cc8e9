import http from 'node:http'

// One HTTP request over a real socket, for tests that run the server as a process.

export interface Response {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

export interface RequestOptions {
  method?: string
  agent?: http.Agent | false
  /** A string is sent as it is; anything else as JSON. */
  body?: unknown
  headers?: Record<string, string>
  timeoutMs?: number
}

/** One HTTP request; rejects on a socket error or after `timeoutMs`. */
export function request(url: string, options: RequestOptions = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const payload =
      options.body === undefined
        ? undefined
        : typeof options.body === 'string' || Buffer.isBuffer(options.body)
          ? options.body
          : JSON.stringify(options.body)
    const req = http.request(
      url,
      {
        method: options.method ?? 'GET',
        agent: options.agent,
        headers: {
          ...(payload !== undefined && typeof options.body !== 'string'
            ? { 'content-type': 'application/json' }
            : {}),
          ...options.headers,
        },
        timeout: options.timeoutMs,
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d) => {
          body += d
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)))
    req.on('error', reject)
    req.end(payload)
  })
}
