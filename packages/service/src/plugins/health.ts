import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { CheckResult, ref } from '../schemas.js'

const Liveness = Type.Object({ status: Type.Literal('ok') }, { $id: 'Liveness' })
const Readiness = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
    checks: Type.Record(Type.String(), CheckResult),
  },
  { $id: 'Readiness' },
)

// Probes are neither shed nor logged per request: a replica under pressure must still say it is
// alive, and a probe every few seconds per replica would drown the request log. The kubelet and the
// proxy carry no token: probes are public.
const probe = { logRequest: false, pressureHandler: () => undefined, auth: false as const }

/** GET /health/live and GET /health/ready. */
const health: FastifyPluginAsyncTypebox = async (app) => {
  app.addSchema(Liveness)
  app.addSchema(Readiness)

  app.get(
    '/live',
    {
      config: probe,
      schema: {
        summary: 'Liveness: the process is running. Never touches the database.',
        operationId: 'getLiveness',
        tags: ['health'],
        response: { 200: ref(Liveness) },
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
        operationId: 'getReadiness',
        tags: ['health'],
        response: { 200: ref(Readiness), 503: ref(Readiness) },
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
