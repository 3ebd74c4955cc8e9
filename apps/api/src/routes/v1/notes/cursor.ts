import { InvalidCursorError } from '../../../errors.js'

export interface Cursor {
  createdAt: string
  id: string
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Opaque to clients: base64url of the last row's (created_at, id), the keyset's position. */
export function encodeCursor(row: { createdAt: Date; id: string }): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.id])).toString('base64url')
}

export function decodeCursor(text: string): Cursor {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
    if (Array.isArray(value) && value.length === 2) {
      const [createdAt, id] = value
      if (
        typeof createdAt === 'string' &&
        isOurTimestamp(createdAt) &&
        typeof id === 'string' &&
        UUID.test(id)
      ) {
        return { createdAt, id }
      }
    }
  } catch {
    // fall through: any undecodable cursor is the client's error
  }
  throw new InvalidCursorError()
}

// Only what encodeCursor writes: Date.parse also takes "0" or "2020-02-30T00:00:00Z", which
// PostgreSQL then refuses (a 500 found by the property tests). Year 0000 is valid ISO 8601 and a
// valid Date, but PostgreSQL has no year zero ("date/time field value out of range").
function isOurTimestamp(text: string): boolean {
  return ISO.test(text) && !text.startsWith('0000') && new Date(text).toISOString() === text
}
