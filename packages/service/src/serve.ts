import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import { EXIT } from './exit.js'
import type { Service, ServiceConfig } from './service.js'

/**
 * Runs a service as the process: listens, then on SIGTERM/SIGINT drains and closes. Resolves with
 * the exit code; the caller (runService) exits with it.
 *
 * Shutdown: readiness turns 503 at once; the replica keeps serving for SHUTDOWN_DELAY_MS so the
 * proxy can take it out of rotation; then app.close() stops accepting, lets in-flight requests
 * finish, closes idle keep-alive sockets and runs onClose hooks (the pool). Past
 * SHUTDOWN_TIMEOUT_MS it gives up, names what was still open, and resolves 1. A second signal
 * resolves 1 at once. An uncaught exception or unhandled rejection closes without the delay and
 * resolves 1, for the supervisor to restart the process.
 */
export function serve(app: Service, config: ServiceConfig): Promise<number> {
  const log: FastifyBaseLogger = app.log
  return new Promise((resolve) => {
    let settled = false
    const exit = (code: number) => {
      if (settled) return
      settled = true
      resolve(code)
    }

    let stopping = false
    async function stop(reason: string, code: number, delayMs: number) {
      if (stopping) {
        log.warn({ reason }, 'second signal during shutdown: exiting now')
        return exit(EXIT.FAILURE)
      }
      stopping = true
      const started = performance.now()
      app.lifecycle.beginShutdown()
      log.info(
        { reason, delayMs, timeoutMs: config.SHUTDOWN_TIMEOUT_MS },
        'shutdown: readiness is now 503, draining',
      )
      if (delayMs > 0) await sleep(delayMs)

      const deadline = setTimeout(() => {
        log.error(
          { inflight: app.lifecycle.inflight(), connections: app.lifecycle.connections() },
          `shutdown deadline of ${config.SHUTDOWN_TIMEOUT_MS} ms exceeded; exiting with requests still open`,
        )
        exit(EXIT.FAILURE)
      }, config.SHUTDOWN_TIMEOUT_MS)
      deadline.unref()

      log.info(
        { inflight: app.lifecycle.inflight().length, connections: app.lifecycle.connections() },
        'shutdown: closing the listener and waiting for in-flight requests',
      )
      try {
        await app.close()
        clearTimeout(deadline)
        log.info({ durationMs: Math.round(performance.now() - started) }, 'shutdown complete')
        exit(code)
      } catch (err) {
        clearTimeout(deadline)
        log.error({ err }, 'shutdown failed')
        exit(EXIT.FAILURE)
      }
    }

    process.on('SIGTERM', () => void stop('SIGTERM', EXIT.OK, config.SHUTDOWN_DELAY_MS))
    process.on('SIGINT', () => void stop('SIGINT', EXIT.OK, config.SHUTDOWN_DELAY_MS))
    process.on('uncaughtException', (err) => {
      log.fatal({ err }, 'uncaught exception')
      void stop('uncaughtException', EXIT.FAILURE, 0)
    })
    process.on('unhandledRejection', (err) => {
      log.fatal({ err }, 'unhandled rejection')
      void stop('unhandledRejection', EXIT.FAILURE, 0)
    })

    app.listen({ host: config.HOST, port: config.PORT }).then(
      (address) => log.info({ address, startupMs: Math.round(performance.now()) }, 'listening'),
      (err: Error) => {
        log.fatal({ err }, 'cannot listen')
        exit(EXIT.FAILURE)
      },
    )
  })
}
