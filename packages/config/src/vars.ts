import Type, { type TSchema } from 'typebox'

// Each helper returns a TypeBox schema carrying `x-reason`: the sentence an operator reads when the
// value is wrong. TypeBox's own messages ("must match a schema in anyOf") name the rule, not the fix.
const REASON = 'x-reason'

export function reasonOf(schema: TSchema): string | undefined {
  return (schema as Record<string, unknown>)[REASON] as string | undefined
}

// A variable that may be unset on its own but not when another is set (AUTH_AUDIENCE with
// AUTH_ISSUER): one schema per variable cannot say that, so loadConfig reads this mark.
const REQUIRED_WITH = 'x-required-with'

export function requiredWithOf(schema: TSchema): string | undefined {
  return (schema as Record<string, unknown>)[REQUIRED_WITH] as string | undefined
}

/** `schema`, optional, except that it is required whenever the variable `other` is set. */
export function requiredWith<T extends TSchema>(other: string, schema: T) {
  return Type.Optional({ ...schema, [REQUIRED_WITH]: other } as T)
}

export function str(opts: { default?: string; minLength?: number } = {}) {
  return Type.String({ minLength: opts.minLength ?? 1, ...opts, [REASON]: 'must be a non-empty string' })
}

export function int(opts: { default?: number; minimum?: number; maximum?: number } = {}) {
  const { minimum = 0, maximum = Number.MAX_SAFE_INTEGER } = opts
  return Type.Integer({
    ...opts,
    minimum,
    maximum,
    [REASON]: `must be an integer from ${minimum} to ${maximum}`,
  })
}

export function num(opts: { default?: number; minimum?: number; maximum?: number } = {}) {
  const { minimum = 0, maximum = Number.MAX_SAFE_INTEGER } = opts
  return Type.Number({
    ...opts,
    minimum,
    maximum,
    [REASON]: `must be a number from ${minimum} to ${maximum}`,
  })
}

export function port(opts: { default?: number } = {}) {
  return Type.Integer({ ...opts, minimum: 1, maximum: 65535, [REASON]: 'must be a port number (1-65535)' })
}

export function bool(opts: { default?: boolean } = {}) {
  return Type.Boolean({ ...opts, [REASON]: 'must be true or false' })
}

export function url(opts: { protocols?: string[]; default?: string } = {}) {
  const { protocols, ...rest } = opts
  const pattern = protocols ? `^(${protocols.join('|')})://` : undefined
  const reason = protocols
    ? `must be a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`
    : 'must be a URL'
  return Type.String({ ...rest, format: 'uri', ...(pattern ? { pattern } : {}), [REASON]: reason })
}

export function oneOf<const T extends string[]>(values: readonly [...T], opts: { default?: T[number] } = {}) {
  return Type.Enum(values, { ...opts, [REASON]: `must be one of ${values.join(', ')}` })
}

export { Type }
