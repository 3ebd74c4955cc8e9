import createError from '@fastify/error'

/** Exit codes of the CLI, part of its contract with compose, Kubernetes and CI. */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const

/** A failure of a run (any of the codes below): exit 1 with its message as the one-line reason. */
export class MigrateError extends Error {
  declare readonly code: string
}

// No HTTP status: these end a process, they are never an answer. The last argument may be { cause }.
const failure = (code: string, message: string) =>
  createError<unknown[]>(code, message, undefined, MigrateError as unknown as ErrorConstructor)

export const UnreachableError = failure(
  'MIGRATE_UNREACHABLE',
  'database at %s unreachable after %d attempt(s) in %d ms: %s',
)
export const ConnectRefusedError = failure('MIGRATE_CONNECT_REFUSED', 'cannot connect to %s: %s')
export const LockTimeoutError = failure(
  'MIGRATE_LOCK_TIMEOUT',
  'another migration runner held the lock for more than %d ms (MIGRATE_LOCK_TIMEOUT_MS)',
)
export const MigrationFailedError = failure(
  'MIGRATE_FAILED',
  'migration %s failed at statement %d of %d: %s; rolled back',
)
export const LockBlockedError = failure(
  'MIGRATE_LOCK_BLOCKED',
  'migration %s: statement %d of %d (%s) waited longer than %d ms for a lock (MIGRATE_STATEMENT_LOCK_TIMEOUT_MS), %d attempt(s); blocked by %s; %s',
)
export const NonTransactionalFailedError = failure(
  'MIGRATE_NO_TRANSACTION_FAILED',
  'migration %s (no-transaction) failed at statement %d of %d: %s; the statements before it stay applied, the migration is not recorded: fix it and rerun (a half-built concurrent index it names is dropped and rebuilt)',
)
export const CancelledError = failure('MIGRATE_CANCELLED', 'cancelled %s')
export const FilesError = failure('MIGRATE_FILES', 'cannot read migrations in %s: %s')

/** `message (code)` of a pg error, or the message of any other error. */
export function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describe(err.errors[0])
  if (!(err instanceof Error)) return String(err)
  if (err instanceof MigrateError) return err.message
  const code = (err as { code?: string }).code
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message
}
