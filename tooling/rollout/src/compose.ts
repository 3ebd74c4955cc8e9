import { RolloutError } from './errors.ts'
import { type Env, exec, type Result, tail } from './exec.ts'

/** How to name the project to `docker compose`: the same flags the operator would give it. */
export interface Project {
  project?: string
  files: string[]
  envFiles: string[]
  projectDirectory?: string
}

export function composeArgs(p: Project, args: string[]): string[] {
  return [
    'compose',
    ...(p.project ? ['-p', p.project] : []),
    ...(p.projectDirectory ? ['--project-directory', p.projectDirectory] : []),
    ...p.envFiles.flatMap((f) => ['--env-file', f]),
    ...p.files.flatMap((f) => ['-f', f]),
    ...args,
  ]
}

export function compose(p: Project, args: string[], env: Env = {}, timeoutMs?: number): Promise<Result> {
  return exec('docker', composeArgs(p, args), env, timeoutMs)
}

interface RawService {
  image?: string
  build?: unknown
  restart?: string
  command?: string[] | string | null
  depends_on?: Record<string, { condition?: string }>
  deploy?: { replicas?: number | string }
  labels?: Record<string, string>
  ports?: { target: number; published?: string | number; host_ip?: string }[]
}

export interface Model {
  name: string
  services: Record<string, RawService>
}

/** `docker compose config --format json`: the model Compose itself would run, after include/extends. */
export async function loadModel(p: Project, env: Env = {}, interpolate = true): Promise<Model> {
  const r = await compose(
    p,
    ['config', '--format', 'json', ...(interpolate ? [] : ['--no-interpolate'])],
    env,
  )
  if (r.code !== 0) throw new RolloutError(`docker compose config failed: ${tail(r.stderr || r.stdout, 5)}`)
  return JSON.parse(r.stdout) as Model
}

/**
 * An app service: built from this repository (a `build` section) and long-running (a restart
 * policy other than "no"); the one-shots (migrators, createdb) and PostgreSQL or the proxy are not.
 */
export function appServices(model: Model): string[] {
  return Object.entries(model.services)
    .filter(([, s]) => s.build !== undefined && (s.restart ?? 'no') !== 'no')
    .map(([name]) => name)
    .sort()
}

/**
 * The variable that carries a service's tag, read from its image before interpolation:
 * `stack/api:${API_TAG:-local}` -> API_TAG.
 */
export function tagVariable(rawImage: string | undefined, service: string): string {
  const m = /:\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}$/.exec(rawImage ?? '')
  if (!m) {
    throw new RolloutError(
      `the image of ${service} (${rawImage ?? 'none'}) has no tag variable: a rollout needs image: <name>:\${<NAME>_TAG:-…}`,
    )
  }
  return m[1] as string
}

/**
 * The one-shot a service waits for (depends_on, service_completed_successfully) that runs the same
 * image: its migrator. None for a service without a database.
 */
export function migratorOf(model: Model, service: string): string | undefined {
  const s = model.services[service]
  return Object.entries(s?.depends_on ?? {})
    .filter(([, d]) => d.condition === 'service_completed_successfully')
    .map(([name]) => name)
    .find(
      (name) => model.services[name]?.image === s?.image && (model.services[name]?.restart ?? 'no') === 'no',
    )
}

export function replicasOf(model: Model, service: string): number {
  const n = Number(model.services[service]?.deploy?.replicas ?? 1)
  if (!Number.isInteger(n) || n < 1)
    throw new RolloutError(`${service}: deploy.replicas is not a positive number`)
  return n
}

export interface ProxyTarget {
  url: string
  host?: string
}

/**
 * Where the stack's Traefik answers for a service: its published HTTPS port on this machine, with
 * the Host of the service's router rule. Undefined when the project has no such proxy.
 */
export function proxyTarget(model: Model, service: string, path: string): ProxyTarget | undefined {
  const proxy = Object.values(model.services).find((s) => /(^|\/)traefik[:@]/.test(s.image ?? ''))
  const port = proxy?.ports?.find((p) => p.target === 443)?.published
  const rule = Object.entries(model.services[service]?.labels ?? {}).find(
    ([k]) => k.startsWith('traefik.http.routers.') && k.endsWith('.rule'),
  )?.[1]
  const host = rule ? /Host\(`([^`]+)`\)/.exec(rule)?.[1] : undefined
  if (!port || !host) return undefined
  return { url: `https://127.0.0.1:${port}${path}`, host }
}

export interface Container {
  id: string
  name: string
  image: string
  status: string
  health: string | undefined
  restarts: number
  exitCode: number
  healthLog: string
}

/** The service's own containers (not `run` one-offs), by the labels Compose puts on them. */
export async function containers(project: string, service: string): Promise<Container[]> {
  const ids = await exec('docker', [
    'ps',
    '-a',
    '-q',
    '--no-trunc',
    '--filter',
    `label=com.docker.compose.project=${project}`,
    '--filter',
    `label=com.docker.compose.service=${service}`,
    '--filter',
    'label=com.docker.compose.oneoff=False',
  ])
  if (ids.code !== 0) throw new RolloutError(`docker ps failed: ${tail(ids.stderr, 3)}`)
  const list = ids.stdout.split('\n').filter(Boolean)
  return list.length === 0 ? [] : inspect(list)
}

export async function inspect(ids: string[]): Promise<Container[]> {
  const r = await exec('docker', ['inspect', ...ids])
  // A container removed meanwhile (a rollback, someone else): inspect fails for it; ask one by one.
  if (r.code !== 0) {
    if (ids.length === 1) return []
    return (await Promise.all(ids.map((id) => inspect([id])))).flat()
  }
  type Raw = {
    Id: string
    Name: string
    Config: { Image: string }
    RestartCount: number
    State: { Status: string; ExitCode: number; Health?: { Status: string; Log?: { Output: string }[] } }
  }
  return (JSON.parse(r.stdout) as Raw[]).map((c) => ({
    id: c.Id,
    name: c.Name.replace(/^\//, ''),
    image: c.Config.Image,
    status: c.State.Status,
    health: c.State.Health?.Status,
    restarts: c.RestartCount,
    exitCode: c.State.ExitCode,
    healthLog: c.State.Health?.Log?.at(-1)?.Output?.trim() ?? '',
  }))
}
