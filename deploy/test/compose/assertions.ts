import { existsSync, readFileSync, statSync } from 'node:fs'
import { isAbsolute, relative } from 'node:path'
import { serverVars } from '@stack/config'
import { appOfImage, imageRepository, isDevIssuerImage } from '../apps.js'
import { describeHeap, v8Heap } from '../v8-heap.js'
import {
  type Compose,
  isObject,
  isProxy,
  mountSource,
  parseDuration,
  type Service,
  type TraefikConfig,
  traefikConfig,
} from './model.js'
import { checkOptions, dynamicOptions, flatten, labelOptions, staticOptions } from './traefik-options.js'

// Each check takes the loaded compose model and returns its problems, one sentence each; an empty
// list means it holds. The app's defaults come from @stack/config, so compose and app cannot drift.

/** The readiness route (packages/service/src/plugins/health.ts, mounted under /health). */
export const READY_PATH = '/health/ready'
/** Traefik's defaults where a setting is absent (reference pages cited in traefik-options.ts). */
const TRAEFIK_DEFAULTS = {
  healthcheckIntervalMs: 30_000,
  healthcheckTimeoutMs: 5_000,
  idleConnTimeoutMs: 90_000,
  providersThrottleMs: 2_000,
}
/** Docker's defaults for HEALTHCHECK and stop timeout. */
const DOCKER_DEFAULTS = { intervalMs: 30_000, timeoutMs: 30_000, retries: 3, stopGracePeriodMs: 10_000 }
/** Share of the memory limit the V8 heap may take; the rest is code, buffers and native memory. */
export const MAX_HEAP_SHARE = 0.8

export interface Context {
  compose: Compose
  traefik: TraefikConfig
}

export function context(compose: Compose): Context {
  return { compose, traefik: traefikConfig(compose) }
}

type Check = (ctx: Context) => string[]

// --- helpers ----------------------------------------------------------------------------------

const services = (ctx: Context) => Object.values(ctx.compose.services)
const isRouted = (s: Service) => s.labels['traefik.enable'] === 'true'
/** Services Traefik routes to: the API replicas. */
const routed = (ctx: Context) => services(ctx).filter(isRouted)
const isMigrator = (s: Service) => [...s.entrypoint, ...s.command].some((a) => a.includes('@stack/migrate'))
/** PostgreSQL itself: its image with the image's own command (not a one-shot running psql from it). */
export const isDatabaseServer = (s: Service) =>
  /^(.*\/)?postgres(:|$)/.test(s.image ?? '') && s.command.length === 0 && s.entrypoint.length === 0
/** compose.yaml's development identity provider (tooling/dev-issuer), by its image. */
export const isDevIssuer = (s: Service) => isDevIssuerImage(s.image)
/** The repository's Node images' processes: the replicas, the migrators, the development issuer. */
const runsNode = (s: Service) => isRouted(s) || isMigrator(s) || isDevIssuer(s)

/** The app's default for a server variable (packages/config/src/parts.ts). */
export function appDefault(name: keyof typeof serverVars): string {
  const schema = (serverVars as Record<string, { default?: unknown }>)[name]
  if (schema?.default === undefined) throw new Error(`@stack/config has no default for ${name}`)
  return String(schema.default)
}

/** A server variable as the service sets it, or the app's default. */
function setting(service: Service, name: keyof typeof serverVars): number {
  const value = service.environment[name]
  return Number(value !== undefined && value !== '' ? value : appDefault(name))
}

function seconds(ms: number): string {
  return `${ms / 1000} s`
}

interface TraefikObjects {
  routers: Map<string, Map<string, string>>
  services: Map<string, Map<string, string>>
  middlewares: Set<string>
}

/** Routers, services and middlewares that the Docker labels of every routed container declare. */
function labelObjects(ctx: Context): TraefikObjects {
  const out: TraefikObjects = { routers: new Map(), services: new Map(), middlewares: new Set() }
  for (const service of routed(ctx)) {
    for (const [key, value] of Object.entries(service.labels)) {
      const m = /^traefik\.http\.(routers|services|middlewares)\.([^.]+)\.(.+)$/i.exec(key)
      if (!m) continue
      const [, kind, name, rest] = m as unknown as [string, string, string, string]
      if (kind.toLowerCase() === 'middlewares') {
        out.middlewares.add(name)
        continue
      }
      const table = kind.toLowerCase() === 'routers' ? out.routers : out.services
      const props = table.get(name) ?? new Map<string, string>()
      props.set(rest.toLowerCase(), value)
      table.set(name, props)
    }
  }
  return out
}

function dynamicSection(ctx: Context, ...path: string[]): Record<string, unknown> {
  let node: unknown = ctx.traefik.dynamic
  for (const p of path) node = isObject(node) ? node[p] : undefined
  return isObject(node) ? node : {}
}

/** A reference like "name@file" or "name" (same provider) resolved against what is defined. */
function resolveRef(
  ref: string,
  fromLabels: Set<string> | Map<string, unknown>,
  fromFile: Record<string, unknown>,
): string | undefined {
  const [name, provider] = ref.split('@') as [string, string | undefined]
  if (provider === undefined || provider === 'docker')
    return fromLabels.has(name) ? undefined : 'is not defined'
  if (provider === 'file') return name in fromFile ? undefined : 'is not defined in the file provider'
  if (provider === 'internal') return undefined
  return `names provider "${provider}", which is not configured`
}

function staticEntryPoints(ctx: Context): Set<string> {
  const names = new Set<string>()
  for (const key of ctx.traefik.flags.keys()) {
    const m = /^entrypoints\.([^.]+)\.address$/.exec(key)
    if (m) names.add(m[1] as string)
  }
  return names
}

function certResolvers(ctx: Context): Set<string> {
  const names = new Set<string>()
  for (const key of ctx.traefik.flags.keys()) {
    const m = /^certificatesresolvers\.([^.]+)\./.exec(key)
    if (m) names.add(m[1] as string)
  }
  return names
}

// --- checks -----------------------------------------------------------------------------------

/** Every image is pinned by a tag other than latest. */
export const pinnedImages: Check = (ctx) =>
  services(ctx).flatMap((s) => {
    if (!s.image) return s.build ? [] : [`${s.name}: has neither image nor build`]
    const m = /^(?<name>[^@]+?)(?::(?<tag>[^:/@]+))?(?:@(?<digest>.+))?$/.exec(s.image)
    const tag = m?.groups?.tag
    if (!tag && !m?.groups?.digest) return [`${s.name}: image "${s.image}" has no tag`]
    if (tag === 'latest') return [`${s.name}: image "${s.image}" uses the floating tag latest`]
    return []
  })

/** Only the proxy publishes ports, and it publishes 80 and 443. */
export const onlyProxyPublishes: Check = (ctx) => {
  const problems = services(ctx)
    .filter((s) => !isProxy(s) && s.ports.length > 0)
    .map(
      (s) =>
        `${s.name}: publishes ${s.ports.map((p) => p.target).join(', ')}; only the proxy may publish ports`,
    )
  const proxy = services(ctx).find(isProxy)
  if (!proxy) return [...problems, 'no Traefik service']
  for (const port of [80, 443]) {
    if (!proxy.ports.some((p) => p.target === port))
      problems.push(`${proxy.name}: does not publish port ${port}`)
  }
  return problems
}

/** Docker's healthcheck and Traefik's health check of every routed service probe readiness. */
export const readinessProbes: Check = (ctx) => {
  const problems: string[] = []
  for (const s of routed(ctx)) {
    const hc = s.healthcheck
    if (!hc || hc.disabled || !hc.test.join(' ').includes(READY_PATH)) {
      problems.push(`${s.name}: the Docker healthcheck does not probe ${READY_PATH}`)
    }
  }
  for (const [name, props] of labelObjects(ctx).services) {
    const path = props.get('loadbalancer.healthcheck.path')
    if (path !== READY_PATH) {
      problems.push(`Traefik service ${name}: health check path is ${path ?? 'not set'}, not ${READY_PATH}`)
    }
  }
  return problems
}

/** Routers reference entry points, middlewares, services, TLS options and resolvers that exist. */
export const routerReferences: Check = (ctx) => {
  const problems: string[] = []
  const objects = labelObjects(ctx)
  const entryPoints = staticEntryPoints(ctx)
  const resolvers = certResolvers(ctx)
  const fileMiddlewares = dynamicSection(ctx, 'http', 'middlewares')
  const fileServices = dynamicSection(ctx, 'http', 'services')
  const fileTransports = dynamicSection(ctx, 'http', 'serversTransports')
  const fileTlsOptions = { default: {}, ...dynamicSection(ctx, 'tls', 'options') }
  if (objects.routers.size === 0 && routed(ctx).length > 0) problems.push('no Traefik router is declared')

  for (const [name, props] of objects.routers) {
    const where = `router ${name}`
    if (!props.get('rule')) problems.push(`${where}: has no rule`)
    const eps = props.get('entrypoints')
    if (!eps) problems.push(`${where}: names no entry point`)
    for (const ep of (eps ?? '')
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)) {
      if (!entryPoints.has(ep.toLowerCase())) problems.push(`${where}: entry point "${ep}" is not defined`)
    }
    for (const ref of (props.get('middlewares') ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean)) {
      const why = resolveRef(ref, objects.middlewares, fileMiddlewares)
      if (why) problems.push(`${where}: middleware "${ref}" ${why}`)
    }
    const service = props.get('service')
    if (service) {
      const why = resolveRef(service, objects.services, fileServices)
      if (why) problems.push(`${where}: service "${service}" ${why}`)
    } else if (objects.services.size !== 1) {
      problems.push(`${where}: names no service and the labels declare ${objects.services.size}`)
    }
    const resolver = props.get('tls.certresolver')
    if (resolver && !resolvers.has(resolver.toLowerCase())) {
      problems.push(`${where}: certificate resolver "${resolver}" is not defined`)
    }
    const options = props.get('tls.options')
    if (options) {
      const why = options === 'default' ? undefined : resolveRef(options, new Set(), fileTlsOptions)
      if (why) problems.push(`${where}: TLS options "${options}" ${why}`)
    }
  }
  for (const [name, props] of objects.services) {
    const transport = props.get('loadbalancer.serverstransport')
    if (transport) {
      const why = resolveRef(transport, new Set(), fileTransports)
      if (why) problems.push(`Traefik service ${name}: serversTransport "${transport}" ${why}`)
    }
  }
  return problems
}

/** Traefik sends to the port the API listens on (PORT, default from @stack/config). */
export const servicePort: Check = (ctx) => {
  const problems: string[] = []
  for (const s of routed(ctx)) {
    const port = String(setting(s, 'PORT'))
    const declared = Object.entries(s.labels).filter(([k]) => /\.loadbalancer\.server\.port$/i.test(k))
    if (declared.length === 0)
      problems.push(`${s.name}: no loadbalancer.server.port label (Traefik would guess)`)
    for (const [key, value] of declared) {
      if (value !== port) problems.push(`${s.name}: ${key}=${value}, but the API listens on ${port}`)
    }
  }
  return problems
}

/** Docker waits longer than the app's drain delay plus its close deadline before SIGKILL. */
export const stopGracePeriod: Check = (ctx) =>
  routed(ctx).flatMap((s) => {
    const needed = setting(s, 'SHUTDOWN_DELAY_MS') + setting(s, 'SHUTDOWN_TIMEOUT_MS')
    const grace = s.stopGracePeriodMs ?? DOCKER_DEFAULTS.stopGracePeriodMs
    return grace > needed
      ? []
      : [
          `${s.name}: stop_grace_period ${seconds(grace)} is not above SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS (${seconds(needed)})`,
        ]
  })

/**
 * A draining replica leaves the rotation within SHUTDOWN_DELAY_MS, by either path: Traefik's own
 * health check (interval + timeout), or Docker's health status (interval x retries + timeout, then
 * the provider's throttle) on which Traefik's Docker provider drops the container.
 */
export const readinessDetection: Check = (ctx) => {
  const problems: string[] = []
  const throttle = ctx.traefik.flags.get('providers.providersthrottleduration')
  const throttleMs = throttle ? parseDuration(throttle) : TRAEFIK_DEFAULTS.providersThrottleMs
  for (const s of routed(ctx)) {
    const delay = setting(s, 'SHUTDOWN_DELAY_MS')
    const hc = s.healthcheck
    if (hc && !hc.disabled) {
      const docker =
        (hc.intervalMs ?? DOCKER_DEFAULTS.intervalMs) * (hc.retries ?? DOCKER_DEFAULTS.retries) +
        (hc.timeoutMs ?? DOCKER_DEFAULTS.timeoutMs) +
        throttleMs
      if (docker >= delay) {
        problems.push(
          `${s.name}: Docker health (interval x retries + timeout + provider throttle = ${seconds(docker)}) does not notice a draining replica within SHUTDOWN_DELAY_MS (${seconds(delay)})`,
        )
      }
    }
    for (const [key, value] of Object.entries(s.labels)) {
      const m = /^traefik\.http\.services\.([^.]+)\.loadbalancer\.healthcheck\.path$/i.exec(key)
      if (!m || !value) continue
      const prefix = key.slice(0, -'.path'.length)
      const interval = s.labels[`${prefix}.interval`]
      const timeout = s.labels[`${prefix}.timeout`]
      const traefik =
        (interval ? parseDuration(interval) : TRAEFIK_DEFAULTS.healthcheckIntervalMs) +
        (timeout ? parseDuration(timeout) : TRAEFIK_DEFAULTS.healthcheckTimeoutMs)
      if (traefik >= delay) {
        problems.push(
          `${s.name}: Traefik's health check of ${m[1]} (interval + timeout = ${seconds(traefik)}) does not notice a draining replica within SHUTDOWN_DELAY_MS (${seconds(delay)})`,
        )
      }
    }
  }
  return problems
}

/**
 * A one-shot migrator runs after the database is healthy and gates every routed service that has a
 * database (../apps.ts), from that service's own image (where the runner's default folder, ./drizzle
 * of /app, is the service's own migrations).
 */
export const migrateGatesApi: Check = (ctx) => {
  const migrators = services(ctx).filter(isMigrator)
  const needing = routed(ctx).filter((s) => appOfImage(s.image)?.database === true)
  if (migrators.length === 0) return needing.length > 0 ? ['no service runs @stack/migrate'] : []
  const problems: string[] = []
  const db = services(ctx).find(isDatabaseServer)
  for (const migrator of migrators) {
    if ((migrator.restart ?? 'no') !== 'no')
      problems.push(`${migrator.name}: restart is "${migrator.restart}", not "no"`)
    if (db && migrator.dependsOn[db.name] !== 'service_healthy') {
      problems.push(`${migrator.name}: does not wait for ${db.name} to be healthy`)
    }
  }
  for (const s of needing) {
    // Its migrator: the one built from the same image repository (the only one, in a one-service file).
    const repo = imageRepository(s.image ?? '')
    const migrator =
      migrators.find((m) => imageRepository(m.image ?? '') === repo) ??
      (migrators.length === 1 ? migrators[0] : undefined)
    if (!migrator) {
      problems.push(`${s.name}: no service runs @stack/migrate from its image`)
      continue
    }
    if (s.dependsOn[migrator.name] !== 'service_completed_successfully') {
      problems.push(`${s.name}: does not wait for ${migrator.name} to complete successfully`)
    }
    if (s.image !== migrator.image) {
      problems.push(
        `${s.name}: runs ${s.image}, but ${migrator.name} runs ${migrator.image}; they must be one image`,
      )
    }
  }
  return problems
}

/** A secret file's value, and the password inside it when it is a URL with credentials. */
function secretValues(text: string): string[] {
  try {
    const password = decodeURIComponent(new URL(text).password)
    return password ? [text, password] : [text]
  } catch {
    return [text]
  }
}

/** Secrets come from files, mounted as compose secrets; nothing secret is inline. */
export const secretsAsFiles: Check = (ctx) => {
  const problems: string[] = []
  const values: string[] = []
  for (const [name, def] of Object.entries(ctx.compose.secrets)) {
    if (!def.file) problems.push(`secret ${name}: is not a file (environment or content)`)
    else if (!existsSync(def.file)) problems.push(`secret ${name}: ${def.file} does not exist`)
    else values.push(...secretValues(readFileSync(def.file, 'utf8').trim()))
  }
  for (const s of services(ctx)) {
    for (const [key, value] of Object.entries(s.environment)) {
      if (/(PASSWORD|SECRET|TOKEN|_KEY)$/.test(key) || key === 'DATABASE_URL') {
        problems.push(`${s.name}: ${key} is set inline; give ${key}_FILE and a secret`)
      }
      if (/:\/\/[^/\s:@]+:[^@\s]+@/.test(value)) problems.push(`${s.name}: ${key} holds credentials in a URL`)
      if (key.endsWith('_FILE')) {
        const m = /^\/run\/secrets\/(.+)$/.exec(value)
        if (!m || !s.secrets.includes(m[1] as string)) {
          problems.push(`${s.name}: ${key}=${value} is not one of its secrets (/run/secrets/<name>)`)
        }
      }
    }
    const everything = [
      ...Object.values(s.environment),
      ...Object.values(s.labels),
      ...s.command,
      ...s.entrypoint,
    ]
    for (const secret of values) {
      if (everything.some((v) => v.includes(secret)))
        problems.push(`${s.name}: a secret's value appears in its configuration`)
    }
  }
  return [...new Set(problems)]
}

/** Traefik closes idle upstream connections before Node does (no request into a closing socket). */
export const upstreamIdleTimeout: Check = (ctx) => {
  const problems: string[] = []
  const transports = dynamicSection(ctx, 'http', 'serversTransports')
  for (const s of routed(ctx)) {
    const keepAlive = setting(s, 'KEEP_ALIVE_TIMEOUT_MS')
    for (const [key, value] of Object.entries(s.labels)) {
      if (!/^traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port$/i.test(key)) continue
      const ref = s.labels[key.replace(/server\.port$/i, 'serverstransport')]
      const [name, provider] = (ref ?? '').split('@')
      const transport = ref && provider === 'file' ? transports[name as string] : undefined
      const timeouts =
        isObject(transport) && isObject(transport.forwardingTimeouts) ? transport.forwardingTimeouts : {}
      const idle = timeouts.idleConnTimeout
      const idleMs = typeof idle === 'string' ? parseDuration(idle) : TRAEFIK_DEFAULTS.idleConnTimeoutMs
      if (idleMs >= keepAlive) {
        problems.push(
          `${s.name}: Traefik's idleConnTimeout (${seconds(idleMs)}${ref ? `, ${ref}` : ', default'}) is not below KEEP_ALIVE_TIMEOUT_MS (${seconds(keepAlive)}) for port ${value}`,
        )
      }
    }
  }
  return problems
}

/** Node services have memory limits, and both V8 generations are sized well inside them. */
export const heapBelowLimit: Check = (ctx) =>
  services(ctx)
    .filter(runsNode)
    .flatMap((s) => {
      if (s.memoryLimitBytes === undefined) return [`${s.name}: has no memory limit`]
      const heap = v8Heap(s.environment.NODE_OPTIONS)
      if (typeof heap === 'string') return [`${s.name}: ${heap}`]
      const limit = s.memoryLimitBytes
      return heap.bytes <= limit * MAX_HEAP_SHARE
        ? []
        : [
            `${s.name}: ${describeHeap(heap)} is above ${MAX_HEAP_SHARE * 100} % of the ${limit / 1024 / 1024} MiB memory limit`,
          ]
    })

/** Node services: read-only root, /tmp on tmpfs, no capabilities, no privilege gain, CPU limit. */
export const hardening: Check = (ctx) =>
  services(ctx)
    .filter(runsNode)
    .flatMap((s) => {
      const problems: string[] = []
      if (!s.readOnly) problems.push(`${s.name}: root filesystem is writable (read_only)`)
      if (!s.tmpfs.some((t) => t.split(':')[0] === '/tmp')) problems.push(`${s.name}: no tmpfs at /tmp`)
      if (!s.capDrop.includes('ALL'))
        problems.push(`${s.name}: capabilities are not dropped (cap_drop: [ALL])`)
      if (!s.securityOpt.some((o) => /^no-new-privileges(:true)?$/.test(o))) {
        problems.push(`${s.name}: no-new-privileges is not set`)
      }
      if (s.cpuLimit === undefined) problems.push(`${s.name}: has no CPU limit`)
      return problems
    })

/** Every service rotates its logs. */
export const logRotation: Check = (ctx) =>
  services(ctx).flatMap((s) => {
    const driver = s.logging?.driver ?? 'json-file'
    if (driver === 'local') return []
    return driver === 'json-file' && s.logging?.options['max-size']
      ? []
      : [`${s.name}: logs are not rotated (json-file with max-size, or local)`]
  })

/** Replicas behind Traefik trust its X-Forwarded-* headers. */
export const trustProxy: Check = (ctx) =>
  routed(ctx).flatMap((s) => {
    const value = s.environment.TRUST_PROXY ?? appDefault('TRUST_PROXY')
    return value === 'false' || value === '' ? [`${s.name}: TRUST_PROXY is off behind Traefik`] : []
  })

/** A comma-separated label or flag value as a list. */
const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)

/**
 * What Traefik applies to a router: its own TLS labels, or else the `http.tls.*` defaults of its entry
 * point (a router with any tls label of its own, even `tls=true`, takes none of them), and the entry
 * point's `http.middlewares` before its own in either case (Traefik's applyModel).
 */
function effectiveRouter(ctx: Context, props: Map<string, string>) {
  const ownTls = [...props.keys()].some((k) => k === 'tls' || k.startsWith('tls.'))
  const entryPoint = list(props.get('entrypoints'))[0]?.toLowerCase()
  const fromEntryPoint = (key: string) =>
    entryPoint ? ctx.traefik.flags.get(`entrypoints.${entryPoint}.http.${key}`) : undefined
  return {
    resolver: ownTls ? props.get('tls.certresolver') : fromEntryPoint('tls.certresolver'),
    options: ownTls ? props.get('tls.options') : fromEntryPoint('tls.options'),
    middlewares: [...list(fromEntryPoint('middlewares')), ...list(props.get('middlewares'))],
  }
}

/** The rateLimit options of each middleware the routed containers' labels declare, keys lower-cased. */
function labelRateLimits(ctx: Context): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>()
  for (const service of routed(ctx)) {
    for (const [key, value] of Object.entries(service.labels)) {
      const m = /^traefik\.http\.middlewares\.([^.]+)\.ratelimit\.(.+)$/i.exec(key)
      if (!m) continue
      const [, name, option] = m as unknown as [string, string, string]
      const props = out.get(name) ?? new Map<string, string>()
      props.set(option.toLowerCase(), value)
      out.set(name, props)
    }
  }
  return out
}

/**
 * Every router is rate limited per client: one of the middlewares Traefik applies to it (its entry
 * point's or its own, from labels or the file) is a rateLimit whose average and burst are above 0
 * (an average of 0 is no limit) and that groups by client IP, Traefik's default, rather than by
 * host or by a header's value.
 */
export const rateLimited: Check = (ctx) => {
  const problems: string[] = []
  const fromLabels = labelRateLimits(ctx)
  const fileMiddlewares = dynamicSection(ctx, 'http', 'middlewares')
  for (const [name, props] of labelObjects(ctx).routers) {
    const limits = effectiveRouter(ctx, props).middlewares.flatMap((ref) => {
      const [mw, provider] = ref.split('@') as [string, string | undefined]
      if (provider === 'file') {
        const def = fileMiddlewares[mw]
        if (!isObject(def) || !isObject(def.rateLimit)) return []
        return [new Map(flatten(def.rateLimit).map(([k, v]) => [k.toLowerCase(), String(v)]))]
      }
      const def = provider === undefined || provider === 'docker' ? fromLabels.get(mw) : undefined
      return def ? [def] : []
    })
    if (limits.length === 0) problems.push(`router ${name}: no rateLimit middleware`)
    for (const limit of limits) {
      if (!(Number(limit.get('average')) > 0))
        problems.push(`router ${name}: rateLimit average is not above 0`)
      if (!(Number(limit.get('burst')) > 0)) problems.push(`router ${name}: rateLimit burst is not above 0`)
      if ([...limit.keys()].some((k) => /^sourcecriterion\.(requesthost|requestheadername)/.test(k))) {
        problems.push(`router ${name}: rateLimit groups by host or header, not by client IP`)
      }
    }
  }
  return problems
}

/** Names no public DNS resolves (RFC 2606, RFC 6761): a router for one is reachable by its Host header only. */
const NOT_PUBLIC = /(^|\.)(localhost|local|internal)$/i

/** Production: a Let's Encrypt resolver with storage on a volume, HSTS, strict SNI, public host names. */
export const productionTls: Check = (ctx) => {
  const problems: string[] = []
  const objects = labelObjects(ctx)
  const proxy = ctx.traefik.service
  const fileMiddlewares = dynamicSection(ctx, 'http', 'middlewares')
  for (const [name, props] of objects.routers) {
    for (const [, host] of (props.get('rule') ?? '').matchAll(/Host\(`([^`]*)`\)/g)) {
      if (!host || NOT_PUBLIC.test(host as string))
        problems.push(`router ${name}: Host ${host || '(empty)'} is not a public name`)
    }
    const { resolver, options, middlewares } = effectiveRouter(ctx, props)
    if (!resolver) {
      problems.push(
        `router ${name}: no certificate resolver (it would serve the self-signed default certificate)`,
      )
      continue
    }
    const prefix = `certificatesresolvers.${resolver.toLowerCase()}.acme.`
    const storage = ctx.traefik.flags.get(`${prefix}storage`)
    if (!storage) problems.push(`resolver ${resolver}: no storage`)
    else if (!proxy?.volumes.some((v) => v.type === 'volume' && storage.startsWith(`${v.target}/`))) {
      problems.push(
        `resolver ${resolver}: storage ${storage} is not on a volume (certificates lost on restart)`,
      )
    }
    if (!ctx.traefik.flags.get(`${prefix}email`)) problems.push(`resolver ${resolver}: no e-mail`)
    const challenge = ['tlschallenge', 'httpchallenge.entrypoint', 'dnschallenge.provider'].some((c) =>
      ctx.traefik.flags.has(prefix + c),
    )
    if (!challenge) problems.push(`resolver ${resolver}: no challenge configured`)
    const hsts = middlewares.some((ref) => {
      const [mw, provider] = ref.split('@')
      const def = provider === 'file' ? fileMiddlewares[mw as string] : undefined
      return isObject(def) && isObject(def.headers) && Number(def.headers.stsSeconds) > 0
    })
    if (!hsts) problems.push(`router ${name}: no middleware sets Strict-Transport-Security`)
    const def = options?.endsWith('@file')
      ? dynamicSection(ctx, 'tls', 'options')[options.slice(0, -5)]
      : undefined
    if (!(isObject(def) && def.sniStrict === true))
      problems.push(`router ${name}: TLS options without sniStrict`)
  }
  return problems
}

/** Production: no secret is read from inside the project, where the development values are committed. */
export const productionSecrets: Check = (ctx) =>
  Object.entries(ctx.compose.secrets).flatMap(([name, def]) => {
    if (!def.file) return []
    const path = relative(ctx.compose.projectDir, def.file)
    return path.startsWith('..') || isAbsolute(path)
      ? []
      : [`secret ${name}: ${path} is inside the repository (a committed development value); set SECRETS_DIR`]
  })

/**
 * Production: every routed service verifies bearer tokens from a real provider: AUTH_ISSUER an
 * https URL that is not a loopback or .localhost name (`pnpm dev`'s development issuer is
 * http://127.0.0.1:…, compose.yaml's http://dev-issuer:3000), and an audience; and the development
 * issuer, whose key anyone with `docker compose exec` signs with, does not run.
 */
export const productionAuth: Check = (ctx) => [
  ...services(ctx)
    .filter(isDevIssuer)
    .map(
      (s) =>
        `${s.name}: the development issuer runs in production (a key anyone with docker compose exec signs with); leave it out with a profile`,
    ),
  ...routed(ctx).flatMap((s) => {
    const issuer = s.environment.AUTH_ISSUER ?? ''
    const problems: string[] = []
    let url: URL | undefined
    try {
      url = new URL(issuer)
    } catch {}
    if (!url)
      problems.push(
        `${s.name}: AUTH_ISSUER is ${issuer === '' ? 'unset' : `"${issuer}"`}: authentication is off`,
      )
    else if (url.protocol !== 'https:' || /^(localhost|127\.|\[::1\])|\.localhost$/.test(url.hostname))
      problems.push(`${s.name}: AUTH_ISSUER ${issuer} is not a real provider's (https, a public name)`)
    if (!s.environment.AUTH_AUDIENCE) problems.push(`${s.name}: AUTH_AUDIENCE is unset`)
    return problems
  }),
]

/** Static flags, the dynamic file and the labels use documented Traefik keys only. */
export const traefikKeys: Check = (ctx) => {
  const problems: string[] = []
  const proxy = ctx.traefik.service
  if (proxy) {
    const flags = ctx.traefik.flagKeys.map((k): [string, unknown] => [
      k,
      ctx.traefik.flags.get(k.toLowerCase()),
    ])
    problems.push(...checkOptions(staticOptions, flags, `${proxy.name} flags`))
    problems.push(
      ...checkOptions(dynamicOptions, flatten(ctx.traefik.dynamic), ctx.traefik.dynamicSource ?? 'dynamic'),
    )
  }
  for (const s of services(ctx)) {
    const labels = Object.entries(s.labels).filter(([k]) => k.toLowerCase().startsWith('traefik.'))
    problems.push(...checkOptions(labelOptions, labels, `${s.name} labels`))
  }
  return problems
}

/** The file provider's configuration is mounted read-only where Traefik reads it. */
export const dynamicConfigMounted: Check = (ctx) => {
  const proxy = ctx.traefik.service
  if (!proxy) return []
  const path =
    ctx.traefik.flags.get('providers.file.directory') ?? ctx.traefik.flags.get('providers.file.filename')
  if (!path) return [`${proxy.name}: no file provider (providers.file.directory)`]
  const mount = proxy.volumes
    .filter((v) => path === v.target || path.startsWith(`${v.target}/`))
    .sort((a, b) => b.target.length - a.target.length)[0]
  const source = mountSource(proxy, path)
  if (!mount || !source || !existsSync(source))
    return [`${proxy.name}: ${path} is not mounted from the repository`]
  const problems: string[] = []
  if (!mount.readOnly) problems.push(`${proxy.name}: ${path} is mounted writable`)
  const socket = proxy.volumes.find((v) => v.target === '/var/run/docker.sock')
  if (socket && !socket.readOnly) problems.push(`${proxy.name}: the Docker socket is mounted writable`)
  if (ctx.traefik.flags.get('providers.docker.exposedbydefault') !== 'false') {
    problems.push(`${proxy.name}: providers.docker.exposedByDefault is not false`)
  }
  return problems
}

/**
 * A watched file provider reads a mounted directory: a bind mount of one file pins its inode, so an
 * edit that replaces the file (editors, git) never reaches the container and the watch sees nothing.
 */
export const fileProviderSeesEdits: Check = (ctx) => {
  const proxy = ctx.traefik.service
  const filename = ctx.traefik.flags.get('providers.file.filename')
  if (!proxy || !filename || ctx.traefik.flags.get('providers.file.watch') !== 'true') return []
  const source = mountSource(proxy, filename)
  return source && existsSync(source) && statSync(source).isFile()
    ? [
        `${proxy.name}: providers.file.filename ${filename} is a bind-mounted file, whose replacement the watch never sees; mount its directory and set providers.file.directory`,
      ]
    : []
}

/** The port of a Traefik address (":443", "0.0.0.0:443/tcp"). */
function addressPort(address: string | undefined): number | undefined {
  const m = /:(\d+)(\/(tcp|udp))?$/.exec(address ?? '')
  return m ? Number(m[1]) : undefined
}

/**
 * An entry point's redirection lands on the host port that publishes its target. Traefik redirects
 * to `to`'s port as it sees it: an entry point name means that entry point's port inside the
 * container, which is not the one a client can reach when compose publishes it elsewhere.
 */
export const redirectToPublishedPort: Check = (ctx) => {
  const proxy = ctx.traefik.service
  if (!proxy) return []
  const problems: string[] = []
  const tlsEntryPoints = [...staticEntryPoints(ctx)].filter((ep) =>
    [...ctx.traefik.flags.keys()].some((k) => k.startsWith(`entrypoints.${ep}.http.tls`)),
  )
  for (const [key, to] of ctx.traefik.flags) {
    const from = /^entrypoints\.([^.]+)\.http\.redirections\.entrypoint\.to$/.exec(key)?.[1]
    if (!from) continue
    const port = /^:(\d+)$/.exec(to)?.[1]
    const target = port ? tlsEntryPoints[0] : to.toLowerCase()
    const redirectsTo = port
      ? Number(port)
      : addressPort(ctx.traefik.flags.get(`entrypoints.${target}.address`))
    const inside = addressPort(ctx.traefik.flags.get(`entrypoints.${target}.address`))
    const published = proxy.ports.find((p) => p.target === inside)?.published
    const reachable = published === undefined ? inside : Number(published)
    if (redirectsTo !== reachable) {
      problems.push(
        `${proxy.name}: entry point ${from} redirects to port ${redirectsTo}, but ${target} is published on host port ${reachable}`,
      )
    }
  }
  return problems
}

/**
 * While Traefik shuts down, ping answers ping.terminatingStatusCode only as long as its own entry
 * point accepts connections: that is its requestAcceptGraceTimeout (0 unless set), which must last
 * as long as the traffic entry points keep accepting.
 */
export const pingAnswersWhileDraining: Check = (ctx) => {
  const proxy = ctx.traefik.service
  const flags = ctx.traefik.flags
  if (!proxy || !flags.has('ping.terminatingstatuscode')) return []
  const ping = (flags.get('ping.entrypoint') ?? 'traefik').toLowerCase()
  const accept = (ep: string) => {
    const value = flags.get(`entrypoints.${ep}.transport.lifecycle.requestacceptgracetimeout`)
    return value ? parseDuration(value) : 0
  }
  const longest = Math.max(0, ...[...staticEntryPoints(ctx)].filter((ep) => ep !== ping).map(accept))
  if (accept(ping) === 0) {
    return [
      `${proxy.name}: the ping entry point ${ping} has no requestAcceptGraceTimeout, so it closes at SIGTERM and ping.terminatingStatusCode is never answered`,
    ]
  }
  return accept(ping) < longest
    ? [
        `${proxy.name}: the ping entry point ${ping} stops accepting after ${seconds(accept(ping))}, before the others (${seconds(longest)})`,
      ]
    : []
}

/**
 * With Docker health checks, Traefik's Docker provider drops an unhealthy container, and with it its
 * router once every replica is unhealthy (a database blip): 404. allowEmptyServices keeps the router
 * with no server behind it: 503, which clients and alerts read correctly.
 */
export const emptyServicesAnswer503: Check = (ctx) => {
  const proxy = ctx.traefik.service
  if (!proxy || ctx.traefik.flags.get('providers.docker') !== 'true') return []
  const checked = routed(ctx).filter((s) => s.healthcheck && !s.healthcheck.disabled)
  if (checked.length === 0 || ctx.traefik.flags.get('providers.docker.allowemptyservices') === 'true')
    return []
  return [
    `${proxy.name}: providers.docker.allowEmptyServices is not true, so when every replica of ${checked.map((s) => s.name).join(', ')} is unhealthy its router disappears and clients get 404 instead of 503`,
  ]
}

/** Every check, by name, for the real files (development and production merges). */
export const CHECKS = {
  pinnedImages,
  onlyProxyPublishes,
  readinessProbes,
  routerReferences,
  servicePort,
  stopGracePeriod,
  readinessDetection,
  migrateGatesApi,
  secretsAsFiles,
  upstreamIdleTimeout,
  heapBelowLimit,
  hardening,
  logRotation,
  trustProxy,
  traefikKeys,
  dynamicConfigMounted,
  fileProviderSeesEdits,
  redirectToPublishedPort,
  pingAnswersWhileDraining,
  emptyServicesAnswer503,
  rateLimited,
} satisfies Record<string, Check>

export const PRODUCTION_CHECKS = { productionTls, productionSecrets, productionAuth } satisfies Record<
  string,
  Check
>
