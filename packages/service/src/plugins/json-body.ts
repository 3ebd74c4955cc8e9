import { isUtf8 } from 'node:buffer'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { InvalidUtf8BodyError } from '../errors.js'

/**
 * Fastify's JSON parser decodes the body with `toString('utf8')`, which turns every ill-formed byte
 * sequence into U+FFFD: a title sent with a stray 0xFF byte was stored as something the client never
 * sent. This parser refuses such a body with a 400 and otherwise hands it to Fastify's own parser
 * (same prototype-poisoning settings, same errors).
 */
async function jsonBody(app: FastifyInstance) {
  const parse = app.getDefaultJsonParser(
    app.initialConfig.onProtoPoisoning ?? 'error',
    app.initialConfig.onConstructorPoisoning ?? 'error',
  )
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    if (!isUtf8(body)) return done(new InvalidUtf8BodyError(), undefined)
    parse(req, body.toString('utf8'), done)
  })
}

export default fp(jsonBody, { name: 'json-body', fastify: '5.x' })
