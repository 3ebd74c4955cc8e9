import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export type Check = () => Promise<void>

export interface CheckResult {
  status: 'ok' | 'fail'
  durationMs: number
  error?: string
}

export interface ReadinessReport {
  ready: boolean
  checks: Record<string, CheckResult>
}

export interface Readiness {
  /** Registers a check; it fails when it rejects or takes longer than the plugin's timeout. */
  add(name: string, check: Check): void
  /** Runs every check. Calls while a run is in flight share it, so a probe storm costs one run. */
  run(): Promise<ReadinessReport>
}

declare module 'fastify' {
  interface FastifyInstance {
    readiness: Readiness
  }
}

export interface ReadinessOptions {
  timeoutMs: number
}

async function readiness(app: FastifyInstance, opts: ReadinessOptions) {
  const checks = new Map<string, Check>()
  let running: Promise<ReadinessReport> | undefined

  async function timed(check: Check): Promise<CheckResult> {
    const started = performance.now()
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([
        check(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${opts.timeoutMs} ms`)), opts.timeoutMs)
        }),
      ])
      return { status: 'ok', durationMs: Math.round(performance.now() - started) }
    } catch (err) {
      return {
        status: 'fail',
        durationMs: Math.round(performance.now() - started),
        error: (err as Error).message,
      }
    } finally {
      clearTimeout(timer)
    }
  }

  async function runAll(): Promise<ReadinessReport> {
    if (app.lifecycle.shuttingDown) {
      // Answer at once: the proxy must see the 503 now, not after a database round trip.
      return { ready: false, checks: { shutdown: { status: 'fail', durationMs: 0, error: 'shutting down' } } }
    }
    const names = [...checks.keys()]
    const results = await Promise.all(names.map((name) => timed(checks.get(name) as Check)))
    const report: ReadinessReport = { ready: true, checks: { shutdown: { status: 'ok', durationMs: 0 } } }
    names.forEach((name, i) => {
      const result = results[i] as CheckResult
      report.checks[name] = result
      if (result.status === 'fail') report.ready = false
    })
    // A SIGTERM may have arrived while the checks ran.
    if (app.lifecycle.shuttingDown) return runAll()
    return report
  }

  app.decorate('readiness', {
    add(name, check) {
      checks.set(name, check)
    },
    run() {
      running ??= runAll().finally(() => {
        running = undefined
      })
      return running
    },
  } satisfies Readiness)
}

export default fp(readiness, { name: 'readiness', fastify: '5.x', dependencies: ['lifecycle'] })
