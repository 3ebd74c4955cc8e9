import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export const VERSION_HEADER = 'x-service-version'

export interface VersionOptions {
  /** config.SERVICE_VERSION: the image tag in the compose stack and in Kubernetes. */
  version: string
}

/**
 * Which release answered, on every response (404s and shed 503s too): during a rolling release a
 * client, a load test or `pnpm rollout` itself can tell the old replicas from the new ones through
 * the proxy, which hides which container served a request.
 */
async function version(app: FastifyInstance, opts: VersionOptions) {
  app.addHook('onRequest', (_req, reply, done) => {
    reply.header(VERSION_HEADER, opts.version)
    done()
  })
}

export default fp(version, { name: 'version', fastify: '5.x' })
