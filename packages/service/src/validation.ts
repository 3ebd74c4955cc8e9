import { AjvCompiler } from '@fastify/ajv-compiler'
import type { FastifySchema, FastifySchemaCompiler } from 'fastify'

interface AjvOptions {
  customOptions?: Record<string, unknown>
  [key: string]: unknown
}
type Build = (externalSchemas: unknown, options?: AjvOptions) => FastifySchemaCompiler<FastifySchema>
type Validate = ReturnType<FastifySchemaCompiler<FastifySchema>> & { errors?: unknown; schemaEnv?: unknown }

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
    return (route) => (route.httpPart === 'body' ? strict(route) : finiteOnly(lenient(route) as Validate))
  }
}

/**
 * Ajv coerces "Infinity" or "1e400" to a number and then skips minimum/maximum for it, since they
 * only look at finite numbers (ajv-validator/ajv#2212, fastify/fastify#6718): `?limit=Infinity` passed
 * `{ type: 'integer', maximum: 100 }`. The coercing parts (querystring, params, headers) are flat, so
 * a look at each value and array item after Ajv catches every such number.
 */
function finiteOnly(validate: Validate): Validate {
  const checked = ((data: unknown, context?: unknown) => {
    const valid = (validate as (data: unknown, context?: unknown) => unknown)(data, context)
    checked.errors = validate.errors
    if (valid !== true || data === null || typeof data !== 'object') return valid
    for (const [key, value] of Object.entries(data)) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (typeof item === 'number' && !Number.isFinite(item)) {
          checked.errors = [
            {
              instancePath: `/${key}`,
              schemaPath: '#/type',
              keyword: 'type',
              params: {},
              message: 'must be a finite number',
            },
          ]
          return false
        }
      }
    }
    return true
  }) as Validate
  // Fastify passes the parent to Ajv's functions (so a coerced root can be replaced) when it sees this.
  checked.schemaEnv = validate.schemaEnv
  return checked
}
