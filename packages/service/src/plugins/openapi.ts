import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { BEARER_SCHEME } from './auth.js'

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
      // Relative: the API is wherever this document was fetched from (behind the proxy, on a port
      // of its own in development), which no config value knows better than the client does.
      servers: [{ url: '/', description: 'the origin serving this document' }],
      // Each operation says what it needs (plugins/auth.ts sets its `security`); none by default.
      security: [],
      components: {
        securitySchemes: {
          [BEARER_SCHEME]: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              "A JWT from the service's identity provider (AUTH_ISSUER), for its audience (AUTH_AUDIENCE); an operation's list names the scopes it needs.",
          },
        },
      },
    },
    // Shared schemas (app.addSchema + ref()) appear under components.schemas by their $id, not as
    // def-0, def-1…: those names become the types of a generated client.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  })
  app.get('/openapi.json', { schema: { hide: true }, config: { logRequest: false, auth: false } }, async () =>
    app.swagger(),
  )
}

export default fp(openapi, { name: 'openapi', fastify: '5.x' })
