import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export interface OpenApiOptions {
  title: string
  version: string
}

/** The OpenAPI 3.1 document, generated from the route schemas, at GET /openapi.json. */
async function openapi(app: FastifyInstance, opts: OpenApiOptions) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: opts.title, version: opts.version },
    },
  })
  app.get('/openapi.json', { schema: { hide: true }, config: { logRequest: false } }, async () =>
    app.swagger(),
  )
}

export default fp(openapi, { name: 'openapi', fastify: '5.x' })
