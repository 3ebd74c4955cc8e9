export interface ConfigIssue {
  /** The environment variable at fault, e.g. `DATABASE_URL` or `DATABASE_URL_FILE`. */
  variable: string
  reason: string
}

/** One error for the whole environment, so an operator fixes every variable in one go. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID'
  readonly issues: readonly ConfigIssue[]

  constructor(issues: ConfigIssue[]) {
    super(`invalid configuration: ${issues.map((i) => `${i.variable} ${i.reason}`).join('; ')}`)
    this.name = 'ConfigError'
    this.issues = issues
  }
}
