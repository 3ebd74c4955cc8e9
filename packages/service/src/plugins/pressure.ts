import { getHeapStatistics } from 'node:v8'
import underPressure from '@fastify/under-pressure'
import type { Config, pressureVars } from '@stack/config'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ShedError } from '../errors.js'
import { loopDelay } from '../loop-delay.js'
import { containerMemoryLimit, memoryThresholds, oldGenerationLimit, rssPressure } from '../memory-limit.js'
import { sustained } from '../sustained.js'

export interface PressureOptions {
  config: Config<typeof pressureVars>
}

declare module 'fastify' {
  interface FastifyInstance {
    pressure: {
      shed: number
      thresholds: ReturnType<typeof memoryThresholds>
      /** Event-loop delay over the last sample, as shedding judges it (see loopDelay). */
      eventLoopDelayMs: number
    }
  }
}

/**
 * @fastify/under-pressure with our thresholds: a 503 with Retry-After and a problem body instead of
 * an OOM kill or minutes-long queues. The database is not checked here: a blip must not turn every
 * route into a 503 (readiness reports it instead). Probes opt out per route (see health.ts).
 */
async function pressure(app: FastifyInstance, opts: PressureOptions) {
  const c = opts.config
  const thresholds = memoryThresholds(
    { maxRssBytes: c.PRESSURE_MAX_RSS_BYTES, maxHeapUsedBytes: c.PRESSURE_MAX_HEAP_USED_BYTES },
    containerMemoryLimit(),
    oldGenerationLimit(getHeapStatistics().heap_size_limit, [
      ...c.NODE_OPTIONS.split(/\s+/),
      ...process.execArgv,
    ]),
  )
  const state = { shed: 0, thresholds, eventLoopDelayMs: 0 }
  app.decorate('pressure', state)
  // under-pressure's own RSS check latches after a spike (see rssPressure); ours runs as its
  // health check, sampled as often as the others. It is the only health check here.
  const rss = rssPressure(thresholds.maxRssBytes, process.memoryUsage())
  // process.memoryUsage() reads /proc and throws once the process is out of file descriptors;
  // a throw here would make under-pressure shed every request, so the last sample stands instead.
  let sample = process.memoryUsage()
  const memoryUsage = () => {
    try {
      sample = process.memoryUsage()
    } catch {}
    return sample
  }
  // under-pressure sheds on the event loop from a single sample; these checks run in the health
  // check instead, and shed only once over for PRESSURE_SUSTAIN_MS (see sustained).
  const delayMs = loopDelay()
  app.addHook('onClose', async () => delayMs.close())
  const delay = sustained(c.PRESSURE_SUSTAIN_MS)
  const utilization = sustained(c.PRESSURE_SUSTAIN_MS)
  let unhealthy: 'rssBytes' | 'eventLoopDelay' | 'eventLoopUtilization' = 'rssBytes'
  const healthy = (): boolean => {
    const now = performance.now()
    state.eventLoopDelayMs = delayMs.read(now)
    const maxDelay = c.PRESSURE_MAX_EVENT_LOOP_DELAY_MS
    const maxUtilization = c.PRESSURE_MAX_EVENT_LOOP_UTILIZATION
    // Both are updated at every sample, so that a run over the threshold is timed from its start.
    const delayOver = delay.update(maxDelay > 0 && state.eventLoopDelayMs > maxDelay, now)
    const utilizationOver = utilization.update(
      maxUtilization > 0 && app.memoryUsage().eventLoopUtilized > maxUtilization,
      now,
    )
    if (thresholds.maxRssBytes > 0 && rss.isOver(memoryUsage())) unhealthy = 'rssBytes'
    else if (delayOver) unhealthy = 'eventLoopDelay'
    else if (utilizationOver) unhealthy = 'eventLoopUtilization'
    else return true
    return false
  }
  let lastShedLog = Number.NEGATIVE_INFINITY
  let shedAtLastLog = 0

  await app.register(underPressure, {
    // Its own event-loop checks are off (see `healthy`); it still measures both, over each
    // sample interval: 'cumulative' would be the average since start, which the start-up's
    // burst raises and which a replica up for hours can no longer move.
    eventLoopUtilizationMode: 'interval',
    maxHeapUsedBytes: thresholds.maxHeapUsedBytes,
    sampleInterval: c.PRESSURE_SAMPLE_INTERVAL_MS,
    healthCheck: async () => healthy(),
    healthCheckInterval: c.PRESSURE_SAMPLE_INTERVAL_MS,
    retryAfter: c.PRESSURE_RETRY_AFTER_S,
    pressureHandler: async (req, reply, type, value) => {
      state.shed++
      const reason = type === 'healthCheck' ? unhealthy : type
      // Without a line here a 503 from shedding leaves no trace of why; one line per sample
      // interval at most, with the measured value, so that an overload does not flood the log.
      const now = performance.now()
      if (now - lastShedLog >= c.PRESSURE_SAMPLE_INTERVAL_MS) {
        req.log.warn({ reason, value, shed: state.shed - shedAtLastLog }, 'shedding load')
        lastShedLog = now
        shedAtLastLog = state.shed
      }
      reply.header('retry-after', String(c.PRESSURE_RETRY_AFTER_S))
      throw new ShedError(reason)
    },
  })
  app.log.debug({ thresholds }, 'load shedding thresholds')
}

export default fp(pressure, { name: 'pressure', fastify: '5.x' })
