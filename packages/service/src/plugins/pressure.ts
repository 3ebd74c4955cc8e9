import underPressure from '@fastify/under-pressure'
import type { Config, pressureVars } from '@stack/config'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ShedError } from '../errors.js'
import { memoryThresholds } from '../memory-limit.js'

export interface PressureOptions {
  config: Config<typeof pressureVars>
}

declare module 'fastify' {
  interface FastifyInstance {
    pressure: { shed: number; thresholds: ReturnType<typeof memoryThresholds> }
  }
}

/**
 * @fastify/under-pressure with our thresholds: a 503 with Retry-After and a problem body instead of
 * an OOM kill or minutes-long queues. No `healthCheck`: a database blip must not turn every route
 * into a 503 (readiness reports it instead). Probes opt out per route (see health.ts).
 */
async function pressure(app: FastifyInstance, opts: PressureOptions) {
  const c = opts.config
  const thresholds = memoryThresholds({
    maxRssBytes: c.PRESSURE_MAX_RSS_BYTES,
    maxHeapUsedBytes: c.PRESSURE_MAX_HEAP_USED_BYTES,
  })
  const state = { shed: 0, thresholds }
  app.decorate('pressure', state)

  await app.register(underPressure, {
    maxEventLoopDelay: c.PRESSURE_MAX_EVENT_LOOP_DELAY_MS,
    maxEventLoopUtilization: c.PRESSURE_MAX_EVENT_LOOP_UTILIZATION,
    maxHeapUsedBytes: thresholds.maxHeapUsedBytes,
    maxRssBytes: thresholds.maxRssBytes,
    sampleInterval: c.PRESSURE_SAMPLE_INTERVAL_MS,
    retryAfter: c.PRESSURE_RETRY_AFTER_S,
    pressureHandler: async (_req, reply, type) => {
      state.shed++
      reply.header('retry-after', String(c.PRESSURE_RETRY_AFTER_S))
      throw new ShedError(type)
    },
  })
  app.log.debug({ thresholds }, 'load shedding thresholds')
}

export default fp(pressure, { name: 'pressure', fastify: '5.x' })
