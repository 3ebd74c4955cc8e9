import { type Static, type TSchema, type TStringOptions, type TUnsafe, Type } from 'typebox'

/**
 * Text that PostgreSQL stores exactly as sent: no NUL (a text column cannot hold one: SQLSTATE 22021)
 * and no unpaired UTF-16 surrogate (UTF-8 cannot encode one; the driver would store U+FFFD instead).
 * Ajv compiles patterns with the `u` flag, so a well-formed pair is one code point and matches.
 */
export const STORABLE_TEXT_PATTERN = '^[^\\u0000\\uD800-\\uDFFF]*$'

/** A string schema for a value that goes into a text column. */
export function StorableText(options: TStringOptions = {}) {
  return Type.String({ ...options, pattern: STORABLE_TEXT_PATTERN })
}

/** Only the canonical 8-4-4-4-12 form: Ajv's `uuid` format also takes `urn:uuid:…`, which PostgreSQL refuses. */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'

/**
 * A reference to a schema registered with `app.addSchema` (it needs an `$id`), typed as the schema
 * itself. Routes name shared schemas this way so the OpenAPI document has each once, under
 * `components.schemas.<$id>`, and a generated client gets named types instead of anonymous ones.
 */
export function ref<T extends TSchema>(schema: T): TUnsafe<Static<T>> {
  const id = (schema as { $id?: unknown }).$id
  if (typeof id !== 'string') throw new TypeError('ref(): the schema has no $id to refer to')
  return Type.Unsafe<Static<T>>({ $ref: `${id}#` })
}

/** Every error response of every service: RFC 9457 problem details (see plugins/problem.ts, which registers it). */
export const ProblemDefinition = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    code: Type.String(),
    requestId: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem' },
)

/** RFC 9457 body; `errors` lists the fields of a validation failure. */
export type Problem = Static<typeof ProblemDefinition>

/** What a route's `response` names for an error: the shared Problem. */
export const ProblemSchema = ref(ProblemDefinition)

/** One readiness check's outcome, in the /health/ready body (see plugins/readiness.ts). */
export const CheckResult = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('fail')]),
  durationMs: Type.Integer(),
  error: Type.Optional(Type.String()),
})
export type CheckResult = Static<typeof CheckResult>

/** Response schemas for the errors any route can answer with, to spread into `response`. */
export const commonErrors = {
  400: ProblemSchema,
  409: ProblemSchema,
  413: ProblemSchema,
  415: ProblemSchema,
  422: ProblemSchema,
  500: ProblemSchema,
  503: ProblemSchema,
}
