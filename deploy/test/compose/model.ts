import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { apps, envPrefix } from '../apps.js'

// The compose files as data: loaded either by `docker compose config` (the real merge and
// interpolation) or by a plain YAML reader with a simplified merge, so the checks also run where no
// Docker CLI is installed. Both produce the same normalized model.

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
export const fixturesDir = fileURLToPath(new URL('../fixtures/compose/', import.meta.url))
export const devFiles = ['compose.yaml']
export const prodFiles = ['compose.yaml', 'compose.prod.yaml']
/** What compose.prod.yaml requires from the environment: each service's public host (API_HOST, …), ACME_EMAIL. */
export const prodEnv: Env = {
  ...Object.fromEntries(apps.map((a) => [`${envPrefix(a)}_HOST`, `${a.name}.example.test`])),
  ACME_EMAIL: 'ops@example.test',
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
 * ${VAR?error}, ${VAR:+alt}, ${VAR+alt} (no nesting). Throws Compose's message for a required variable.
 */
export function interpolate(text: string, env: Env): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, braced?: string, colon?: string, op?: string, arg?: string, bare?: string) => {
      if (whole === '$$') return '$'
      const name = (braced ?? bare) as string
      const value = env[name]
      const unset = colon === ':' ? value === undefined || value === '' : value === undefined
      if (op === '-') return unset ? interpolate(arg ?? '', env) : (value as string)
      if (op === '+') return unset ? '' : interpolate(arg ?? '', env)
      if (op === '?') {
        if (unset) throw new Error(`required variable ${name} is missing a value: ${arg}`)
        return value as string
      }
      return value ?? ''
    },
  )
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

/**
 * Reads compose files with a plain YAML parser: `<<` merge keys, interpolation from `env` only
 * (COMPOSE_PROJECT_NAME from the top-level name), and a simplified override merge.
 */
export function loadPlain(files: string[], env: Env = {}, projectDir = repoRoot): Compose {
  const docs = files.map((file) => {
    const path = resolve(projectDir, file)
    const doc: unknown = parse(readFileSync(path, 'utf8'), { merge: true })
    if (!isObject(doc)) throw new Error(`${file}: not a mapping`)
    return doc
  })
  const name = docs.map((d) => d.name).find((n) => typeof n === 'string') as string | undefined
  const scope: Env = { COMPOSE_PROJECT_NAME: env.COMPOSE_PROJECT_NAME ?? name ?? 'project', ...env }

  const services: Record<string, Obj> = {}
  const top: Record<'secrets' | 'volumes', Obj> = { secrets: {}, volumes: {} }
  for (const raw of docs) {
    const doc = interpolateAll(raw, scope) as Obj
    for (const [svc, def] of Object.entries((doc.services as Obj | undefined) ?? {})) {
      services[svc] = mergeService(services[svc] ?? {}, (def ?? {}) as Obj)
    }
    for (const key of ['secrets', 'volumes'] as const)
      Object.assign(top[key], (doc[key] as Obj | undefined) ?? {})
  }

  return {
    source: `plain YAML (${files.join(' + ')})`,
    projectDir,
    services: Object.fromEntries(
      Object.entries(services).map(([n, s]) => [n, normalizeService(n, s, projectDir, 'plain')]),
    ),
    secrets: normalizeSecrets(top.secrets, projectDir),
    volumes: Object.keys(top.volumes),
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
  const doc = JSON.parse(out) as Obj
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
    volumes: Object.keys((doc.volumes as Obj | undefined) ?? {}),
  }
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
