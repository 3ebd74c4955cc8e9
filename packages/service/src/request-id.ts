import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

export const REQUEST_ID_HEADER = 'x-request-id'

// A proxy's or caller's id is kept when it is short and plain; anything else could forge log lines.
const VALID = /^[A-Za-z0-9._:-]{1,128}$/

export function requestId(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER]
  return typeof given === 'string' && VALID.test(given) ? given : randomUUID()
}
