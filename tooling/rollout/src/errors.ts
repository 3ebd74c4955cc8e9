/** Bad usage: exit 2 with a one-line reason and the usage line. */
export class UsageError extends Error {}

/**
 * A rollout that stopped: exit 1 with the reason, and `details` (a migrator's output, a failing
 * replica's last log lines) after it.
 */
export class RolloutError extends Error {
  readonly details: string | undefined
  constructor(message: string, details?: string) {
    super(message)
    this.details = details
  }
}
