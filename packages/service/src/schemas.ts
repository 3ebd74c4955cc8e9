import { Type } from 'typebox'

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
  413: ProblemSchema,
  415: ProblemSchema,
  500: ProblemSchema,
  503: ProblemSchema,
}
