import net from 'node:net'

// HTTP/1.1 over a bare socket, for what a well-behaved client (fetch, http.request) will not send:
// malformed requests, slow bodies, requests abandoned before their answer.

export interface RawResponse {
  status: number
  /** Lower-cased names; a repeated header keeps its last value. */
  headers: Record<string, string>
  body: string
}

/** A connected socket; errors (a reset from the server) are kept off the process's error path. */
export async function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  const socket = net.connect(port, host)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  socket.on('error', () => {})
  return socket
}

/**
 * The first response `socket` receives from now on (headers and a Content-Length body), or what the
 * server sent before closing; rejects when nothing complete arrives within `timeoutMs`.
 */
export function readResponse(socket: net.Socket, timeoutMs = 10_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0)
    const finish = (err?: Error) => {
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('close', onClose)
      const response = parseResponse(data, err === undefined)
      if (response) resolve(response)
      else reject(err ?? new Error(`connection closed after ${JSON.stringify(data.toString('latin1'))}`))
    }
    const onData = (chunk: Buffer) => {
      data = Buffer.concat([data, chunk])
      if (parseResponse(data, false)) finish()
    }
    const onClose = () => finish()
    const timer = setTimeout(
      () =>
        finish(
          new Error(
            `no complete response within ${timeoutMs} ms: ${JSON.stringify(data.toString('latin1'))}`,
          ),
        ),
      timeoutMs,
    )
    socket.on('data', onData)
    socket.on('close', onClose)
  })
}

/** Opens a connection, writes `payload` as it is and reads one response. */
export async function rawRequest(port: number, payload: string, timeoutMs = 10_000): Promise<RawResponse> {
  const socket = await connect(port)
  try {
    const response = readResponse(socket, timeoutMs)
    socket.write(payload)
    return await response
  } finally {
    socket.destroy()
  }
}

function parseResponse(data: Buffer, closed: boolean): RawResponse | undefined {
  const end = data.indexOf('\r\n\r\n')
  if (end < 0) return undefined
  const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1])
  if (!status) return undefined
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  const body = data.subarray(end + 4)
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length'])
  if (length === undefined ? !closed : body.length < length) return undefined
  return { status, headers, body: body.subarray(0, length).toString('utf8') }
}
