import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { Identity } from './rename.ts'
import { isMap, isScalar, isSeq, mapAt, parse, parseAll } from './yaml.ts'

/** The reference service every generated one is derived from. */
export const API = 'api'

export const paths = {
  compose: 'compose.yaml',
  composeProd: 'compose.prod.yaml',
  composeMonitoring: 'compose.monitoring.yaml',
  prometheus: 'deploy/observability/prometheus.yml',
  k8s: 'deploy/k8s',
  k8sBase: 'deploy/k8s/base',
  k8sOverlays: 'deploy/k8s/overlays',
  k8sPostgres: 'deploy/k8s/postgres',
  k8sMonitoring: 'deploy/k8s/monitoring',
  config: 'packages/config/src/parts.ts',
} as const

/** The repository root: the nearest directory at or above `from` with a pnpm-workspace.yaml. */
export function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir
    if (dirname(dir) === dir) throw new Error(`no pnpm-workspace.yaml at or above ${from}`)
  }
}

/** Everything generation needs to know about the repository, read before anything is written. */
export interface RepoFacts {
  api: Identity
  /** The services in apps/. */
  apps: string[]
  /** Names already in use, with where, for the refusal message. */
  taken: Map<string, string>
  httpPorts: number[]
  metricsPorts: number[]
}

export function readFacts(root: string): RepoFacts {
  const read = (path: string) => readFileSync(join(root, path), 'utf8')
  const has = (path: string) => existsSync(join(root, path))
  const taken = new Map<string, string>()
  const take = (name: string, where: string) => {
    if (!taken.has(name)) taken.set(name, where)
  }
  const apps: string[] = []
  const httpPorts: number[] = []
  const metricsPorts: number[] = []
  const portsIn = (text: string) => {
    const http = /(?<![A-Z_])PORT:\s*port\(\{\s*default:\s*(\d+)/.exec(text)?.[1]
    const metrics = /METRICS_PORT:\s*port\(\{\s*default:\s*(\d+)/.exec(text)?.[1]
    return { http: http ? Number(http) : undefined, metrics: metrics ? Number(metrics) : undefined }
  }

  // @stack/config's defaults: the API's ports unless its deployment says otherwise.
  const defaults: { http?: number | undefined; metrics?: number | undefined } = has(paths.config)
    ? portsIn(read(paths.config))
    : {}
  let apiPort = defaults.http ?? 3000
  let apiMetricsPort = defaults.metrics ?? 9464
  httpPorts.push(apiPort)
  metricsPorts.push(apiMetricsPort)

  // Workspace packages and apps.
  for (const dir of workspaceDirs(root)) {
    const manifest = join(root, dir, 'package.json')
    if (!existsSync(manifest)) continue
    const name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name
    if (name) take(name, `${dir}/package.json`)
    if (dir.startsWith('apps/')) {
      apps.push(dir.slice('apps/'.length))
      take(dir.slice('apps/'.length), dir)
      const config = join(root, dir, 'src/config.ts')
      if (existsSync(config)) {
        const ports = portsIn(readFileSync(config, 'utf8'))
        if (ports.http) httpPorts.push(ports.http)
        if (ports.metrics) metricsPorts.push(ports.metrics)
      }
    }
  }

  // Compose: services, top-level keys (x-<name>-image), secrets, and the ports services set.
  for (const file of [paths.compose, paths.composeProd, paths.composeMonitoring]) {
    if (!has(file)) continue
    const doc = parse(read(file), file)
    for (const key of ['services', 'secrets', 'volumes', 'networks'] as const) {
      for (const pair of mapAt(doc, [key])?.items ?? []) {
        if (isScalar(pair.key)) take(String(pair.key.value), `${file} ${key}`)
      }
    }
    for (const pair of mapAt(doc, [])?.items ?? []) {
      if (isScalar(pair.key)) take(String(pair.key.value), file)
    }
    const services = (doc.toJS() as { services?: Record<string, { environment?: unknown }> }).services ?? {}
    for (const [name, service] of Object.entries(services)) {
      const env = environment(service?.environment)
      if (env.PORT && Number(env.PORT)) {
        httpPorts.push(Number(env.PORT))
        if (name === API && file === paths.compose) apiPort = Number(env.PORT)
      }
      if (env.METRICS_PORT && Number(env.METRICS_PORT)) {
        metricsPorts.push(Number(env.METRICS_PORT))
        if (name === API && file === paths.compose) apiMetricsPort = Number(env.METRICS_PORT)
      }
    }
    // Compose variables in use: API_TAG, GRAFANA_HOST, ...
    for (const m of read(file).matchAll(/\$\{([A-Z][A-Z0-9_]*?)_(?:TAG|HOST|REPLICAS)\b/g)) {
      take(`env:${m[1]}`, file)
    }
  }

  // Kubernetes: every object name and generated ConfigMap, and the ports the ConfigMaps set.
  for (const file of yamlFiles(join(root, paths.k8s))) {
    const rel = file.slice(root.length + 1)
    for (const doc of parseAll(readFileSync(file, 'utf8'), rel, '1.1')) {
      const value = doc.toJS() as {
        kind?: string
        metadata?: { name?: unknown }
        configMapGenerator?: { name?: string; literals?: string[] }[]
        secretGenerator?: { name?: string }[]
      } | null
      if (typeof value?.metadata?.name === 'string') take(value.metadata.name, rel)
      for (const generator of [...(value?.configMapGenerator ?? []), ...(value?.secretGenerator ?? [])]) {
        if (generator.name) take(generator.name, rel)
      }
      for (const generator of value?.configMapGenerator ?? []) {
        const literal = (key: string) =>
          generator.literals?.find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1)
        const http = Number(literal('PORT'))
        const metrics = Number(literal('METRICS_PORT'))
        if (http) httpPorts.push(http)
        if (metrics) metricsPorts.push(metrics)
        if (generator.name === `${API}-config`) {
          if (http) apiPort = http
          if (metrics) apiMetricsPort = metrics
        }
      }
    }
  }
  for (const dir of [paths.k8sBase, paths.k8sMonitoring, ...overlayDirs(root)]) {
    if (!has(dir)) continue
    for (const entry of readdirSync(join(root, dir))) {
      if (statSync(join(root, dir, entry)).isDirectory()) take(entry, dir)
    }
  }

  return {
    api: { name: API, envPrefix: API.toUpperCase(), port: apiPort, metricsPort: apiMetricsPort },
    apps,
    taken,
    httpPorts: [...new Set(httpPorts)].sort((a, b) => a - b),
    metricsPorts: [...new Set(metricsPorts)].sort((a, b) => a - b),
  }
}

/** The next port after every one in use by either kind. */
export function nextPorts(facts: RepoFacts): { port: number; metricsPort: number } {
  const all = new Set([...facts.httpPorts, ...facts.metricsPorts])
  const next = (list: number[]) => {
    let port = Math.max(...list) + 1
    while (all.has(port)) port++
    return port
  }
  const port = next(facts.httpPorts)
  all.add(port)
  return { port, metricsPort: next(facts.metricsPorts) }
}

export function overlayDirs(root: string): string[] {
  const dir = join(root, paths.k8sOverlays)
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'kustomization.yaml')))
    .map((e) => `${paths.k8sOverlays}/${e.name}`)
    .sort()
}

/** The workspace's package directories (pnpm-workspace.yaml `packages`: `dir` and `dir/*` entries). */
export function workspaceDirs(root: string): string[] {
  const doc = parse(readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8'), 'pnpm-workspace.yaml')
  const globs = (doc.toJS() as { packages?: string[] }).packages ?? []
  const dirs: string[] = []
  for (const glob of globs) {
    if (glob.startsWith('!')) continue
    if (glob.endsWith('/*')) {
      const parent = glob.slice(0, -2)
      if (!existsSync(join(root, parent))) continue
      for (const entry of readdirSync(join(root, parent), { withFileTypes: true })) {
        if (entry.isDirectory()) dirs.push(`${parent}/${entry.name}`)
      }
    } else if (!glob.includes('*')) dirs.push(glob)
  }
  return dirs.sort()
}

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...yamlFiles(path))
    else if (/\.ya?ml$/.test(entry.name)) out.push(path)
  }
  return out.sort()
}

function environment(value: unknown): Record<string, string> {
  if (Array.isArray(value)) {
    return Object.fromEntries(
      value.map((v) => {
        const text = String(v)
        const at = text.indexOf('=')
        return at < 0 ? [text, ''] : [text.slice(0, at), text.slice(at + 1)]
      }),
    )
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v ?? '')]))
  }
  return {}
}

export { isMap, isSeq }
