import { AjvCompiler } from '@fastify/ajv-compiler'
import type { FastifySchema, FastifySchemaCompiler } from 'fastify'

interface AjvOptions {
  customOptions?: Record<string, unknown>
  [key: string]: unknown
}
type Build = (externalSchemas: unknown, options?: AjvOptions) => FastifySchemaCompiler<FastifySchema>

/**
 * Fastify's Ajv coerces types and drops unknown properties everywhere. That is right for the
 * querystring, params and headers (all strings on the wire) but wrong for a JSON body: `{"title": 42}`
 * would become "42" and an unknown field would vanish silently. Bodies get a strict Ajv of their own.
 */
export function strictBodyValidators(): Build {
  // @fastify/ajv-compiler is Fastify's own default; its typings describe an older call shape.
  const pool = AjvCompiler() as unknown as Build
  return (externalSchemas, options) => {
    const lenient = pool(externalSchemas, options)
    const strict = pool(externalSchemas, {
      ...options,
      customOptions: { ...options?.customOptions, coerceTypes: false, removeAdditional: false },
    })
    return (route) => (route.httpPart === 'body' ? strict(route) : lenient(route))
  }
}
