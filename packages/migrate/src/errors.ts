/** Exit codes of the CLI, part of its contract with compose, Kubernetes and CI. */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const

export type MigrateErrorCode =
  | 'MIGRATE_UNREACHABLE'
  | 'MIGRATE_CONNECT_REFUSED'
  | 'MIGRATE_LOCK_TIMEOUT'
  | 'MIGRATE_FAILED'
  | 'MIGRATE_CANCELLED'
  | 'MIGRATE_FILES'

/** A failure of a run: exit 1 with `message` as the one-line reason. */
export class MigrateError extends Error {
  readonly code: MigrateErrorCode
  constructor(code: MigrateErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'MigrateError'
    this.code = code
  }
}

/** `message (code)` of a pg error, or the message of any other error. */
export function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describe(err.errors[0])
  if (!(err instanceof Error)) return String(err)
  if (err instanceof MigrateError) return err.message
  const code = (err as { code?: string }).code
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message
}
