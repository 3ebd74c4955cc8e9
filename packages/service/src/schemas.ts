import { type TStringOptions, Type } from 'typebox'

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

/** Every error response of every service: RFC 9457 problem details (see plugins/problem.ts). */
export const ProblemSchema = Type.Object({
  type: Type.String(),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String(),
  instance: Type.String(),
  code: Type.String(),
  requestId: Type.String(),
  errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
})

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
