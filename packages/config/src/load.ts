import { readFileSync } from 'node:fs'
import Type, { type Static, type TObject, type TProperties } from 'typebox'
import Value from 'typebox/value'
import { ConfigError, type ConfigIssue } from './errors.js'
import { reasonOf, requiredWithOf } from './vars.js'

export type Env = Record<string, string | undefined>
export type Config<P extends TProperties> = Readonly<Static<TObject<P>>>

/**
 * Reads the variables that `vars` declares from `env` (by default `process.env`, the only read of it
 * in the repository), converts and validates them, and returns a frozen object. Every variable may
 * instead be given as `<NAME>_FILE`, a path whose trimmed contents are the value (Docker and
 * Kubernetes secrets). Throws one ConfigError naming every bad variable.
 */
export function loadConfig<P extends TProperties>(vars: P, env: Env = process.env): Config<P> {
  const issues: ConfigIssue[] = []
  const raw: Record<string, string> = {}

  for (const name of Object.keys(vars)) {
    const value = readVariable(name, env, issues)
    if (value !== undefined) raw[name] = value
  }

  const schema = Type.Object(vars, { additionalProperties: true })
  const value = Value.Default(schema, Value.Convert(schema, raw)) as Record<string, unknown>

  const failed = new Set(issues.map((i) => i.variable.replace(/_FILE$/, '')))
  for (const error of Value.Errors(schema, value)) {
    if (error.keyword === 'required') {
      const missing = (error.params as { requiredProperties: string[] }).requiredProperties
      for (const name of missing.filter((n) => !failed.has(n))) {
        failed.add(name)
        issues.push({ variable: name, reason: 'is required but not set' })
      }
      continue
    }
    const name = error.instancePath.split('/')[1]
    if (name === undefined || failed.has(name)) continue
    failed.add(name)
    // Never the value: a name-based guess missed OTEL_EXPORTER_OTLP_HEADERS (an API key), and any
    // variable can come from a secret file. The name and the rule are enough to fix it.
    issues.push({ variable: name, reason: reasonOf(vars[name] as never) ?? error.message })
  }

  for (const [name, schema] of Object.entries(vars)) {
    const other = requiredWithOf(schema)
    if (other === undefined || failed.has(name) || raw[name] !== undefined) continue
    if (raw[other] !== undefined) issues.push({ variable: name, reason: `is required when ${other} is set` })
  }

  if (issues.length > 0) throw new ConfigError(issues)
  return Object.freeze(value) as Config<P>
}

function readVariable(name: string, env: Env, issues: ConfigIssue[]): string | undefined {
  // Compose files pass `${VAR:-}`, so an empty string means "not set" here.
  const direct = nonEmpty(env[name])
  const file = nonEmpty(env[`${name}_FILE`])
  if (file === undefined) return direct
  if (direct !== undefined) {
    issues.push({ variable: `${name}_FILE`, reason: `is set together with ${name}: set one of them` })
    return undefined
  }
  try {
    const contents = readFileSync(file, 'utf8').trim()
    if (contents === '')
      issues.push({ variable: `${name}_FILE`, reason: `points to an empty file (${file})` })
    return contents === '' ? undefined : contents
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error'
    issues.push({ variable: `${name}_FILE`, reason: `cannot be read (${file}: ${code})` })
    return undefined
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}

/** The environment for a child process: this one's, plus `extra`. (Only this package touches process.env.) */
export function childEnv(extra: Env = {}): Env {
  return { ...process.env, ...extra }
}
