import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'

const CheckResult = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('fail')]),
  durationMs: Type.Integer(),
  error: Type.Optional(Type.String()),
})
const Report = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  checks: Type.Record(Type.String(), CheckResult),
})

// Probes are neither shed nor logged per request: a replica under pressure must still say it is
// alive, and a probe every few seconds per replica would drown the request log.
const probe = { logRequest: false, pressureHandler: () => undefined }

/** GET /health/live and GET /health/ready. */
const health: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/live',
    {
      config: probe,
      schema: {
        summary: 'Liveness: the process is running. Never touches the database.',
        tags: ['health'],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/ready',
    {
      config: probe,
      schema: {
        summary:
          'Readiness: dependencies answer, the schema is migrated and the process is not shutting down.',
        tags: ['health'],
        response: { 200: Report, 503: Report },
      },
    },
    async (_req, reply) => {
      const report = await app.readiness.run()
      reply.header('cache-control', 'no-store')
      if (!report.ready) reply.code(503)
      return { status: report.ready ? ('ready' as const) : ('unavailable' as const), checks: report.checks }
    },
  )
}

export default health
