import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import pTimeout from 'p-timeout'
import { CheckFailedError } from '../errors.js'
import type { CheckResult } from '../schemas.js'

export type Check = () => Promise<void>

export interface ReadinessReport {
  ready: boolean
  checks: Record<string, CheckResult>
}

export interface Readiness {
  /**
   * Registers a check; it fails when it rejects or takes longer than the plugin's timeout. The body
   * of /health/ready is public (it goes through the proxy), so it shows a rejection's message only
   * when it is a CheckFailedError (a reason written to be shown); any other error shows as "failed".
   * The full error goes to the log when the check starts failing.
   */
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
  // The last public reason of each failing check: the log says when it starts or stops failing,
  // not at every probe.
  const failing = new Map<string, string>()
  let running: Promise<ReadinessReport> | undefined
  const timeout = new Error(`no answer within ${opts.timeoutMs} ms`)

  function record(name: string, result: CheckResult, err?: unknown) {
    if (result.status === 'fail') {
      if (failing.get(name) !== result.error) app.log.warn({ check: name, err }, 'readiness check failing')
      failing.set(name, result.error ?? 'failed')
    } else if (failing.delete(name)) {
      app.log.info({ check: name }, 'readiness check passing again')
    }
  }

  async function timed(name: string, check: Check): Promise<CheckResult> {
    const started = performance.now()
    try {
      await pTimeout(check(), { milliseconds: opts.timeoutMs, message: timeout })
      const result: CheckResult = { status: 'ok', durationMs: Math.round(performance.now() - started) }
      record(name, result)
      return result
    } catch (err) {
      const result: CheckResult = {
        status: 'fail',
        durationMs: Math.round(performance.now() - started),
        error: err instanceof CheckFailedError || err === timeout ? (err as Error).message : 'failed',
      }
      record(name, result, err)
      return result
    }
  }

  async function runAll(): Promise<ReadinessReport> {
    if (app.lifecycle.shuttingDown) {
      // Answer at once: the proxy must see the 503 now, not after a database round trip.
      return { ready: false, checks: { shutdown: { status: 'fail', durationMs: 0, error: 'shutting down' } } }
    }
    const names = [...checks.keys()]
    const results = await Promise.all(names.map((name) => timed(name, checks.get(name) as Check)))
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
