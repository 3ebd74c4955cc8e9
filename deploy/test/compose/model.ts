import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

// The compose files as data: loaded either by `docker compose config` (the real merge and
// interpolation) or by a plain YAML reader with a simplified merge, so the checks also run where no
// Docker CLI is installed. Both produce the same normalized model.

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
export const fixturesDir = fileURLToPath(new URL('../fixtures/compose/', import.meta.url))
export const devFiles = ['compose.yaml']
export const prodFiles = ['compose.yaml', 'compose.prod.yaml']
/**
 * What compose.prod.yaml requires from the environment: PUBLIC_DOMAIN (each service is then
 * <name>.<PUBLIC_DOMAIN> unless <NAME>_HOST says otherwise), ACME_EMAIL and AUTH_ISSUER.
 */
export const prodEnv: Env = {
  PUBLIC_DOMAIN: 'example.test',
  ACME_EMAIL: 'ops@example.test',
  AUTH_ISSUER: 'https://id.example.test/realms/main',
}

export type Env = Record<string, string>

/** compose.monitoring.yaml, which needs GRAFANA_HOST in every environment. */
export const monitoringFile = 'compose.monitoring.yaml'
export const monitoringEnv: Env = { GRAFANA_HOST: 'grafana.example.test' }

/**
 * What production keeps outside the repository: a SECRETS_DIR holding a copy of every secret file
 * the development stack (with monitoring) reads. The caller removes it (`remove`).
 */
export function productionSecretsDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'stack-secrets-'))
  const dev = loadPlain([...devFiles, monitoringFile], monitoringEnv)
  for (const def of Object.values(dev.secrets)) {
    if (def.file) copyFileSync(def.file, join(dir, basename(def.file)))
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export interface Healthcheck {
  test: string[]
  disabled: boolean
  intervalMs?: number
  timeoutMs?: number
  retries?: number
  startPeriodMs?: number
}

export interface Mount {
  type: string
  source?: string
  target: string
  readOnly: boolean
}

export interface Service {
  name: string
  image?: string
  build: boolean
  ports: { target: number; published?: string }[]
  labels: Record<string, string>
  environment: Record<string, string>
  healthcheck?: Healthcheck
  stopGracePeriodMs?: number
  /** service name -> condition */
  dependsOn: Record<string, string>
  restart?: string
  entrypoint: string[]
  command: string[]
  memoryLimitBytes?: number
  cpuLimit?: number
  replicas?: number
  secrets: string[]
  readOnly: boolean
  capDrop: string[]
  securityOpt: string[]
  tmpfs: string[]
  volumes: Mount[]
  logging?: { driver?: string; options: Record<string, string> }
}

export interface Compose {
  /** Where the model came from, for messages. */
  source: string
  projectDir: string
  services: Record<string, Service>
  secrets: Record<string, { file?: string; environment?: string; content?: string }>
  volumes: string[]
}

type Obj = Record<string, unknown>

export function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

// --- values -----------------------------------------------------------------------------------

import { parseDuration } from '../duration.js'

export { parseDuration }

/** Compose byte values ("512M", "1g", "268435456"): binary multiples. */
export function parseBytes(text: string | number): number {
  if (typeof text === 'number') return text
  const match = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(text.trim())
  if (!match) throw new Error(`"${text}" is not a byte value`)
  const power = { '': 0, b: 0, k: 1, m: 2, g: 3 }[(match[2] as string).toLowerCase()] as number
  return Math.round(Number(match[1]) * 1024 ** power)
}

/**
 * Compose interpolation: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
 * ${VAR?error}, ${VAR:+alt}, ${VAR+alt}, with variables nested in the default (`${A:-x.${B:-y}}`).
 * Throws Compose's message for a required variable.
 */
export function interpolate(text: string, env: Env): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const at = text.indexOf('$', i)
    if (at < 0) return out + text.slice(i)
    out += text.slice(i, at)
    const next = text[at + 1]
    if (next === '$') {
      out += '$'
      i = at + 2
      continue
    }
    if (next !== '{') {
      const bare = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(at + 1))?.[0]
      out += bare ? (env[bare] ?? '') : '$'
      i = at + 1 + (bare?.length ?? 0)
      continue
    }
    // The matching brace, counting the ones of nested ${...}.
    let depth = 1
    let end = at + 2
    for (; end < text.length && depth > 0; end++) {
      if (text[end] === '{') depth++
      else if (text[end] === '}') depth--
    }
    if (depth > 0) throw new Error(`invalid interpolation format: ${text.slice(at)}`)
    const body = text.slice(at + 2, end - 1)
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?+])([\s\S]*))?$/.exec(body)
    if (!m) throw new Error(`invalid interpolation format: \${${body}}`)
    const [, name, colon, op, arg] = m as unknown as [string, string, string?, string?, string?]
    const value = env[name]
    const unset = colon === ':' ? value === undefined || value === '' : value === undefined
    if (op === '-') out += unset ? interpolate(arg ?? '', env) : (value as string)
    else if (op === '+') out += unset ? '' : interpolate(arg ?? '', env)
    else if (op === '?') {
      if (unset) throw new Error(`required variable ${name} is missing a value: ${arg}`)
      out += value as string
    } else out += value ?? ''
    i = end
  }
  return out
}

function interpolateAll(value: unknown, env: Env): unknown {
  if (typeof value === 'string') return interpolate(value, env)
  if (Array.isArray(value)) return value.map((v) => interpolateAll(v, env))
  if (isObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, env)]))
  return value
}

function toMap(value: unknown, separator = '='): Record<string, string> {
  if (value === undefined || value === null) return {}
  if (Array.isArray(value)) {
    return Object.fromEntries(
      value.map((entry) => {
        const text = String(entry)
        const at = text.indexOf(separator)
        return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)]
      }),
    )
  }
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, v === null ? '' : String(v)]))
  }
  throw new Error(`expected a list or a mapping, got ${JSON.stringify(value)}`)
}

function toList(value: unknown): string[] {
  if (value === undefined || value === null) return []
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean)
  if (Array.isArray(value)) return value.map(String)
  throw new Error(`expected a list or a string, got ${JSON.stringify(value)}`)
}

// --- plain YAML loader ------------------------------------------------------------------------

/** Keys merged entry by entry in an override file; every other list is replaced. */
const MAP_KEYS = new Set(['labels', 'environment'])
const UNION_KEYS = new Set(['secrets', 'cap_add', 'cap_drop', 'security_opt', 'tmpfs', 'networks'])

function mergeService(base: Obj, override: Obj): Obj {
  const out: Obj = { ...base }
  for (const [key, value] of Object.entries(override)) {
    const current = out[key]
    if (MAP_KEYS.has(key)) out[key] = { ...toMap(current), ...toMap(value) }
    else if (key === 'depends_on') out[key] = { ...dependsOnMap(current), ...dependsOnMap(value) }
    else if (key === 'ports') out[key] = [...((current as unknown[]) ?? []), ...(value as unknown[])]
    else if (key === 'volumes') {
      const byTarget = new Map<string, unknown>()
      for (const v of [...((current as unknown[]) ?? []), ...(value as unknown[])])
        byTarget.set(mountOf(v).target, v)
      out[key] = [...byTarget.values()]
    } else if (UNION_KEYS.has(key) && Array.isArray(current) && Array.isArray(value)) {
      out[key] = [...new Set([...current, ...value].map((v) => (isObject(v) ? JSON.stringify(v) : v)))].map(
        (v) => (typeof v === 'string' && v.startsWith('{') ? JSON.parse(v) : v),
      )
    } else if (isObject(current) && isObject(value)) out[key] = deepMerge(current, value)
    else out[key] = value
  }
  return out
}

function deepMerge(base: Obj, override: Obj): Obj {
  const out: Obj = { ...base }
  for (const [key, value] of Object.entries(override)) {
    const current = out[key]
    out[key] = isObject(current) && isObject(value) ? deepMerge(current, value) : value
  }
  return out
}

function dependsOnMap(value: unknown): Record<string, { condition: string }> {
  if (value === undefined || value === null) return {}
  if (Array.isArray(value))
    return Object.fromEntries(value.map((s) => [String(s), { condition: 'service_started' }]))
  if (isObject(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        { condition: isObject(v) && typeof v.condition === 'string' ? v.condition : 'service_started' },
      ]),
    )
  }
  throw new Error(`depends_on: expected a list or a mapping`)
}

function mountOf(value: unknown, projectDir = ''): Mount {
  if (isObject(value)) {
    return {
      type: String(value.type ?? 'volume'),
      ...(value.source !== undefined ? { source: String(value.source) } : {}),
      target: String(value.target),
      readOnly: value.read_only === true,
    }
  }
  const parts = String(value).split(':')
  if (parts.length === 1) return { type: 'volume', target: parts[0] as string, readOnly: false }
  const [source, target, mode = ''] = parts as [string, string, string?]
  const bind = source.startsWith('.') || source.startsWith('/') || source.startsWith('~')
  return {
    type: bind ? 'bind' : 'volume',
    source: bind && projectDir ? resolve(projectDir, source) : source,
    target,
    readOnly: mode.split(',').includes('ro'),
  }
}

function portOf(value: unknown): { target: number; published?: string } {
  if (isObject(value)) {
    return {
      target: Number(value.target),
      ...(value.published !== undefined ? { published: String(value.published) } : {}),
    }
  }
  const text = String(value).replace(/\/(tcp|udp)$/, '')
  const parts = text.split(':')
  const target = Number(parts.at(-1))
  return parts.length > 1 ? { target, published: parts.at(-2) as string } : { target }
}

/** A dotenv file as Compose reads an include's env_file: KEY=VALUE lines, `#` comments, quotes. */
export function readEnvFile(path: string): Env {
  const out: Env = {}
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line)
    if (!m) continue
    const raw = m[2] as string
    const quoted = /^(['"])(.*)\1$/.exec(raw)
    out[m[1] as string] = quoted ? (quoted[2] as string) : raw.replace(/\s+#.*$/, '')
  }
  return out
}

/** A relative bind-mount source, build context or secret file, made absolute against `dir`. */
function rebase(path: string, dir: string): string {
  return isAbsolute(path) || path.startsWith('~') ? path : resolve(dir, path)
}

function rebaseService(def: Obj, dir: string): Obj {
  const out: Obj = { ...def }
  if (typeof out.build === 'string') out.build = { context: rebase(out.build, dir) }
  else if (isObject(out.build))
    out.build = { ...out.build, context: rebase(String(out.build.context ?? '.'), dir) }
  if (Array.isArray(out.volumes)) {
    out.volumes = out.volumes.map((v) => {
      if (isObject(v))
        return v.type === 'bind' && typeof v.source === 'string' ? { ...v, source: rebase(v.source, dir) } : v
      const [source, ...rest] = String(v).split(':')
      return rest.length > 0 && /^[.~/]/.test(source as string)
        ? [rebase(source as string, dir), ...rest].join(':')
        : v
    })
  }
  return out
}

interface Part {
  services: Record<string, Obj>
  secrets: Obj
  volumes: Obj
}

/**
 * One compose file, as Compose loads it: its `include`s first (each with its own project directory,
 * and its env_file's variables under the project's environment), then its own services, each
 * `extends` resolved (a base from another file is interpolated with the same environment and its
 * relative paths rebased on that file's directory), relative paths made absolute against `dir`.
 */
function loadPart(path: string, env: Env, dir: string): Part {
  const raw: unknown = parse(readFileSync(path, 'utf8'), { merge: true })
  if (!isObject(raw)) throw new Error(`${path}: not a mapping`)
  const part: Part = { services: {}, secrets: {}, volumes: {} }
  const includes = Array.isArray(raw.include) ? raw.include : []
  for (const entry of includes) {
    const item: Obj = isObject(entry) ? entry : { path: entry }
    const paths = Array.isArray(item.path) ? item.path.map(String) : [String(item.path)]
    const envFiles = Array.isArray(item.env_file)
      ? item.env_file.map(String)
      : item.env_file
        ? [String(item.env_file)]
        : []
    const own: Env = Object.assign(
      {},
      ...envFiles.map((f: string) => readEnvFile(rebase(interpolate(f, env), dir))),
    )
    // The project's environment wins over an include's env_file, as in Compose.
    const scope: Env = { ...own, ...env }
    for (const p of paths) {
      const file = rebase(interpolate(p, env), dir)
      const included = loadPart(
        file,
        scope,
        item.project_directory ? rebase(String(item.project_directory), dir) : dirname(file),
      )
      for (const [name, def] of Object.entries(included.services)) {
        if (part.services[name]) throw new Error(`${file}: service ${name} is defined twice`)
        part.services[name] = def
      }
      Object.assign(part.secrets, included.secrets)
      Object.assign(part.volumes, included.volumes)
    }
  }
  const { include: _include, ...rest } = raw
  const doc = interpolateAll(rest, env) as Obj
  const own = (doc.services as Obj | undefined) ?? {}
  for (const name of Object.keys(own)) {
    if (part.services[name]) throw new Error(`${path}: service ${name} is also defined by an include`)
    part.services[name] = resolveExtends(own, name, env, dir, path, new Set())
  }
  for (const [name, def] of Object.entries((doc.secrets as Obj | undefined) ?? {})) {
    part.secrets[name] =
      isObject(def) && typeof def.file === 'string' ? { ...def, file: rebase(def.file, dir) } : def
  }
  Object.assign(part.volumes, (doc.volumes as Obj | undefined) ?? {})
  return part
}

/** A service with its `extends` chain merged in (base first), paths rebased, as Compose does. */
function resolveExtends(
  services: Obj,
  name: string,
  env: Env,
  dir: string,
  path: string,
  seen: Set<string>,
): Obj {
  const key = `${path}#${name}`
  if (seen.has(key)) throw new Error(`${path}: extends cycle at service ${name}`)
  seen.add(key)
  const def = services[name]
  if (!isObject(def) && def !== null && def !== undefined)
    throw new Error(`${path}: service ${name} is not a mapping`)
  const { extends: ext, ...local } = (def ?? {}) as Obj
  const own = rebaseService(local, dir)
  if (ext === undefined) return own
  const spec = isObject(ext) ? ext : { service: ext }
  const baseName = String(spec.service)
  let base: Obj
  if (spec.file !== undefined) {
    const file = rebase(String(spec.file), dir)
    const doc: unknown = parse(readFileSync(file, 'utf8'), { merge: true })
    if (!isObject(doc)) throw new Error(`${file}: not a mapping`)
    const others = (interpolateAll(doc, env) as Obj).services as Obj | undefined
    if (!others || !(baseName in others)) throw new Error(`${file}: no service ${baseName} to extend`)
    base = resolveExtends(others, baseName, env, dirname(file), file, seen)
  } else {
    if (!(baseName in services)) throw new Error(`${path}: no service ${baseName} to extend`)
    base = resolveExtends(services, baseName, env, dir, path, seen)
  }
  return mergeService(base, own)
}

/**
 * Reads compose files with a plain YAML parser: `<<` merge keys, `include` (with env_file) and
 * `extends`, interpolation from `env` only (COMPOSE_PROJECT_NAME from the top-level name), and a
 * simplified override merge.
 */
export function loadPlain(files: string[], env: Env = {}, projectDir = repoRoot): Compose {
  const paths = files.map((file) => resolve(projectDir, file))
  const names = paths.map((path) => {
    const doc: unknown = parse(readFileSync(path, 'utf8'), { merge: true })
    if (!isObject(doc)) throw new Error(`${path}: not a mapping`)
    return doc.name
  })
  const name = names.find((n) => typeof n === 'string') as string | undefined
  const scope: Env = { COMPOSE_PROJECT_NAME: env.COMPOSE_PROJECT_NAME ?? name ?? 'project', ...env }

  const services: Record<string, Obj> = {}
  const top: Record<'secrets' | 'volumes', Obj> = { secrets: {}, volumes: {} }
  for (const path of paths) {
    const part = loadPart(path, scope, projectDir)
    for (const [svc, def] of Object.entries(part.services)) {
      services[svc] = mergeService(services[svc] ?? {}, def)
    }
    // No profile is enabled: as Compose does, a service that names one is not part of the project.
    for (const [svc, def] of Object.entries(services)) {
      if (toList(def.profiles).length > 0) delete services[svc]
    }
    Object.assign(top.secrets, part.secrets)
    Object.assign(top.volumes, part.volumes)
  }

  return {
    source: `plain YAML (${files.join(' + ')})`,
    projectDir,
    services: Object.fromEntries(
      Object.entries(services).map(([n, s]) => [n, normalizeService(n, s, projectDir, 'plain')]),
    ),
    secrets: normalizeSecrets(top.secrets, projectDir),
    volumes: Object.keys(top.volumes).sort(),
  }
}

// --- docker compose config -------------------------------------------------------------------

export function dockerAvailable(): boolean {
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** The environment handed to `docker compose`: the CLI's own variables and `env`, nothing else. */
export function dockerEnv(env: Env = {}): NodeJS.ProcessEnv {
  const keep = Object.entries(process.env).filter(
    ([k]) => ['PATH', 'HOME', 'TMPDIR'].includes(k) || k.startsWith('DOCKER_'),
  )
  return { ...Object.fromEntries(keep), ...env }
}

/** `docker compose config --format json`: Compose's own merge and interpolation. */
export function loadWithDocker(files: string[], env: Env = {}, projectDir = repoRoot): Compose {
  const args = ['compose', '--project-directory', projectDir, '--env-file', '/dev/null']
  for (const file of files) args.push('-f', resolve(projectDir, file))
  let out: string
  try {
    out = execFileSync('docker', [...args, 'config', '--format', 'json'], {
      encoding: 'utf8',
      env: dockerEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  } catch (error) {
    const e = error as { stderr?: string; message: string }
    throw new Error(`docker compose config failed: ${e.stderr?.trim() || e.message}`)
  }
  // `config` writes a literal `$` as `$$`, so that its output loads again: the value is the `$`.
  const doc = unescapeDollars(JSON.parse(out)) as Obj
  return {
    source: `docker compose config (${files.join(' + ')})`,
    projectDir,
    services: Object.fromEntries(
      Object.entries((doc.services as Obj) ?? {}).map(([n, s]) => [
        n,
        normalizeService(n, s as Obj, projectDir, 'docker'),
      ]),
    ),
    secrets: normalizeSecrets((doc.secrets as Obj | undefined) ?? {}, projectDir),
    volumes: Object.keys((doc.volumes as Obj | undefined) ?? {}).sort(),
  }
}

function unescapeDollars(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('$$', '$')
  if (Array.isArray(value)) return value.map(unescapeDollars)
  if (isObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unescapeDollars(v)]))
  return value
}

// --- normalization ----------------------------------------------------------------------------

function normalizeService(name: string, s: Obj, projectDir: string, from: 'plain' | 'docker'): Service {
  const deploy = isObject(s.deploy) ? s.deploy : {}
  const limits =
    isObject(deploy.resources) && isObject(deploy.resources.limits) ? deploy.resources.limits : {}
  const hc = isObject(s.healthcheck) ? s.healthcheck : undefined
  const logging = isObject(s.logging) ? s.logging : undefined
  const test = hc?.test
  return {
    name,
    ...(typeof s.image === 'string' ? { image: s.image } : {}),
    build: s.build !== undefined,
    ports: ((s.ports as unknown[] | undefined) ?? []).map(portOf),
    labels: toMap(s.labels),
    environment: toMap(s.environment),
    ...(hc
      ? {
          healthcheck: {
            test: typeof test === 'string' ? ['CMD-SHELL', test] : toList(test),
            disabled: hc.disable === true,
            ...(hc.interval !== undefined ? { intervalMs: parseDuration(hc.interval as string) } : {}),
            ...(hc.timeout !== undefined ? { timeoutMs: parseDuration(hc.timeout as string) } : {}),
            ...(hc.retries !== undefined ? { retries: Number(hc.retries) } : {}),
            ...(hc.start_period !== undefined
              ? { startPeriodMs: parseDuration(hc.start_period as string) }
              : {}),
          },
        }
      : {}),
    ...(s.stop_grace_period !== undefined
      ? { stopGracePeriodMs: parseDuration(s.stop_grace_period as string) }
      : {}),
    dependsOn: Object.fromEntries(
      Object.entries(dependsOnMap(s.depends_on)).map(([k, v]) => [k, v.condition]),
    ),
    ...(s.restart !== undefined ? { restart: String(s.restart) } : {}),
    entrypoint: toList(s.entrypoint),
    command: toList(s.command),
    ...(limits.memory !== undefined ? { memoryLimitBytes: parseBytes(limits.memory as string) } : {}),
    ...(limits.cpus !== undefined ? { cpuLimit: Number(limits.cpus) } : {}),
    ...(deploy.replicas !== undefined ? { replicas: Number(deploy.replicas) } : {}),
    secrets: ((s.secrets as unknown[] | undefined) ?? []).map((x) =>
      isObject(x) ? String(x.source) : String(x),
    ),
    readOnly: s.read_only === true || s.read_only === 'true',
    capDrop: toList(s.cap_drop),
    securityOpt: toList(s.security_opt),
    tmpfs: toList(s.tmpfs),
    volumes: ((s.volumes as unknown[] | undefined) ?? []).map((v) =>
      mountOf(v, from === 'plain' ? projectDir : ''),
    ),
    ...(logging
      ? {
          logging: {
            ...(typeof logging.driver === 'string' ? { driver: logging.driver } : {}),
            options: toMap(logging.options),
          },
        }
      : {}),
  }
}

function normalizeSecrets(secrets: Obj, projectDir: string): Compose['secrets'] {
  return Object.fromEntries(
    Object.entries(secrets).map(([name, def]) => {
      const d = isObject(def) ? def : {}
      return [
        name,
        {
          ...(typeof d.file === 'string'
            ? { file: isAbsolute(d.file) ? d.file : resolve(projectDir, d.file) }
            : {}),
          ...(typeof d.environment === 'string' ? { environment: d.environment } : {}),
          ...(typeof d.content === 'string' ? { content: d.content } : {}),
        },
      ]
    }),
  )
}

// --- Traefik's view ---------------------------------------------------------------------------

export interface TraefikConfig {
  /** The service running Traefik, if any. */
  service?: Service
  /** Static configuration flags: lower-cased key -> value ("--ping" alone is "true"). */
  flags: Map<string, string>
  /** The same keys as written, for messages. */
  flagKeys: string[]
  /** The file provider's dynamic configuration, read from the bind mount that backs it. */
  dynamic: Obj
  dynamicSource?: string
}

export function isProxy(service: Service): boolean {
  return /^(.*\/)?traefik(:|$)/.test(service.image ?? '')
}

/**
 * Static flags and the file provider's dynamic configuration for the proxy of `compose`: the file
 * behind `providers.file.filename`, or every YAML file of the directory behind
 * `providers.file.directory`, read from the bind mount that backs it.
 */
export function traefikConfig(compose: Compose): TraefikConfig {
  const service = Object.values(compose.services).find(isProxy)
  const flags = new Map<string, string>()
  const flagKeys: string[] = []
  if (!service) return { flags, flagKeys, dynamic: {} }
  const args = [...service.entrypoint, ...service.command].filter((a) => a.startsWith('--'))
  for (const arg of args) {
    const at = arg.indexOf('=')
    const key = (at < 0 ? arg.slice(2) : arg.slice(2, at)).trim()
    flagKeys.push(key)
    flags.set(key.toLowerCase(), at < 0 ? 'true' : arg.slice(at + 1))
  }
  const target = flags.get('providers.file.directory') ?? flags.get('providers.file.filename')
  const source = target ? mountSource(service, target) : undefined
  let dynamic: Obj = {}
  if (source && existsSync(source)) {
    const files = statSync(source).isDirectory()
      ? readdirSync(source)
          .filter((f) => /\.ya?ml$/.test(f))
          .sort()
          .map((f) => join(source, f))
      : [source]
    for (const file of files) {
      const doc: unknown = parse(readFileSync(file, 'utf8'))
      if (isObject(doc)) dynamic = deepMerge(dynamic, doc)
    }
  }
  return { service, flags, flagKeys, dynamic, ...(source ? { dynamicSource: source } : {}) }
}

/** Where on the host a path inside the container comes from: its bind mount, or one of a parent directory. */
export function mountSource(service: Service, path: string): string | undefined {
  const mount = service.volumes
    .filter((v) => v.source && (path === v.target || path.startsWith(`${v.target.replace(/\/$/, '')}/`)))
    .sort((a, b) => b.target.length - a.target.length)[0]
  return mount?.source ? join(mount.source, path.slice(mount.target.length)) : undefined
}

export function fixture(name: string): string {
  return resolve(fixturesDir, name)
}
