/** One JSON line per step on stdout (for a machine), the human summary on stderr. */
export interface StepRecord {
  step: string
  service?: string
  ok: boolean
  ms: number
  [key: string]: unknown
}

export class Steps {
  readonly records: StepRecord[] = []
  private readonly write: (line: string) => void

  constructor(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) {
    this.write = write
  }

  /** Times `fn`; what it puts in `detail` goes on the step's line. A throw is logged, then rethrown. */
  async run<T>(
    step: string,
    service: string | undefined,
    fn: (detail: Record<string, unknown>) => Promise<T>,
  ) {
    const t0 = performance.now()
    const detail: Record<string, unknown> = {}
    try {
      const value = await fn(detail)
      this.record({ step, ...(service ? { service } : {}), ok: true, ms: elapsed(t0), ...detail })
      return value
    } catch (error) {
      this.record({
        step,
        ...(service ? { service } : {}),
        ok: false,
        ms: elapsed(t0),
        ...detail,
        error: (error as Error).message,
      })
      throw error
    }
  }

  record(r: StepRecord): void {
    this.records.push(r)
    this.write(JSON.stringify(r))
  }
}

function elapsed(t0: number): number {
  return Math.round(performance.now() - t0)
}
