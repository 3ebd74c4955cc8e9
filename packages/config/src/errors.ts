import createError from '@fastify/error'

export interface ConfigIssue {
  /** The environment variable at fault, e.g. `DATABASE_URL` or `DATABASE_URL_FILE`. */
  variable: string
  reason: string
}

// No HTTP status: a process that cannot start says so and exits 2 (runService, stack-migrate).
const InvalidConfig = createError<[string]>('CONFIG_INVALID', 'invalid configuration: %s')

/** One error for the whole environment, so an operator fixes every variable in one go. */
export class ConfigError extends InvalidConfig {
  readonly issues: readonly ConfigIssue[]

  constructor(issues: ConfigIssue[]) {
    super(issues.map((i) => `${i.variable} ${i.reason}`).join('; '))
    this.name = 'ConfigError'
    this.issues = issues
  }
}
