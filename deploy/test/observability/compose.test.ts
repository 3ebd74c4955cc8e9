import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig, metricsVars } from '@stack/config'
import { afterAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { apps } from '../apps.js'
import { monitoringEnv, productionSecretsDir } from '../compose/model.js'

// compose.monitoring.yaml merged onto the stack by Compose itself (`docker compose config`), and
// the Prometheus and Grafana files it mounts, checked against what the API actually serves.

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
const observability = `${repoRoot}deploy/observability/`

interface Service {
  image?: string
  ports?: unknown[]
  networks?: Record<string, unknown>
  environment?: Record<string, string>
  volumes?: { type: string; source: string; target: string; read_only?: boolean }[]
  secrets?: { source: string; target: string }[]
}
interface Compose {
  services: Record<string, Service>
  secrets: Record<string, { file: string }>
}

function composeConfig(files: string[], env: Record<string, string> = {}): Compose {
  const args = ['compose', '--project-directory', repoRoot, '--env-file', '/dev/null']
  for (const file of files) args.push('-f', `${repoRoot}${file}`)
  const keep = Object.entries(process.env).filter(
    ([k]) => ['PATH', 'HOME', 'TMPDIR'].includes(k) || k.startsWith('DOCKER_'),
  )
  try {
    const out = execFileSync('docker', [...args, 'config', '--format', 'json'], {
      encoding: 'utf8',
      env: { ...Object.fromEntries(keep), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    return JSON.parse(out) as Compose
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string }
    if (e.code === 'ENOENT') throw new Error('docker was not found on PATH: these tests need the Compose CLI')
    throw new Error(`docker compose config failed: ${e.stderr?.trim() || e.message}`)
  }
}

// Production's secrets are outside the repository (SECRETS_DIR): a temporary copy here.
const secretsDir = productionSecretsDir()
afterAll(secretsDir.remove)

const stacks = {
  development: () => composeConfig(['compose.yaml', 'compose.monitoring.yaml'], monitoringEnv),
  production: () =>
    composeConfig(['compose.yaml', 'compose.prod.yaml', 'compose.monitoring.yaml'], {
      ...monitoringEnv,
      PUBLIC_DOMAIN: 'example.com',
      ACME_EMAIL: 'ops@example.com',
      AUTH_ISSUER: 'https://id.example.com/realms/main',
      SECRETS_DIR: secretsDir.dir,
    }),
}

function shareNetwork(a: Service | undefined, b: Service | undefined): boolean {
  const theirs = Object.keys(b?.networks ?? {})
  return Object.keys(a?.networks ?? {}).some((n) => theirs.includes(n))
}

interface PrometheusConfig {
  rule_files: string[]
  scrape_configs: {
    job_name: string
    dns_sd_configs?: { names: string[]; type: string; port: number }[]
    relabel_configs?: Record<string, unknown>[]
    static_configs?: { targets: string[] }[]
  }[]
}
const prometheusConfig = () =>
  parse(readFileSync(`${observability}prometheus.yml`, 'utf8')) as PrometheusConfig

describe.each(Object.keys(stacks) as (keyof typeof stacks)[])('compose.monitoring.yaml (%s)', (stack) => {
  const compose = stacks[stack]()
  const { prometheus, grafana, traefik } = compose.services
  const nodeServices = apps.map((a) => compose.services[a.name])

  it('adds Prometheus and Grafana on pinned images, publishing no port', () => {
    for (const [name, service] of Object.entries({ prometheus, grafana })) {
      expect(service?.image, name).toMatch(/^[\w./-]+:v?\d+\.\d+\.\d+$/)
      expect(service?.ports ?? [], name).toEqual([])
    }
    // Only Traefik publishes ports, in every stack.
    const publishing = Object.entries(compose.services).filter(([, s]) => (s.ports ?? []).length > 0)
    expect(publishing.map(([n]) => n)).toEqual(['traefik'])
  })

  it('Prometheus reaches every replica and Traefik; Grafana reaches Prometheus and Traefik reaches Grafana', () => {
    for (const service of nodeServices) expect(shareNetwork(prometheus, service)).toBe(true)
    expect(shareNetwork(prometheus, traefik)).toBe(true)
    expect(shareNetwork(grafana, prometheus)).toBe(true)
    expect(shareNetwork(grafana, traefik)).toBe(true)
    // Not the database network: Prometheus has no business next to PostgreSQL.
    expect(Object.keys(prometheus?.networks ?? {})).not.toContain('backend')
  })

  it('mounts files that exist, read-only, where the configuration expects them', () => {
    for (const service of [prometheus, grafana]) {
      for (const v of (service?.volumes ?? []).filter((v) => v.type === 'bind')) {
        expect(existsSync(v.source), v.source).toBe(true)
        expect(v.read_only, v.target).toBe(true)
      }
    }
    const targets = (prometheus?.volumes ?? []).map((v) => v.target)
    expect(targets).toContain('/etc/prometheus/prometheus.yml')
    for (const file of prometheusConfig().rule_files) {
      expect(targets).toContain(posix.resolve('/etc/prometheus', file))
    }
    for (const secret of grafana?.secrets ?? []) {
      expect(existsSync(compose.secrets[secret.source]?.file ?? ''), secret.source).toBe(true)
    }
  })

  it('scrapes every service in apps/ in one job, on the port its replicas serve /metrics on, job = its name', () => {
    const jobs = prometheusConfig().scrape_configs.filter((j) => j.dns_sd_configs)
    expect(jobs.map((j) => j.job_name)).toEqual(['node'])
    const sd = jobs[0]?.dns_sd_configs?.[0]
    expect(sd?.names).toEqual(apps.map((a) => a.name))
    expect(sd?.type).toBe('A')
    expect(jobs[0]?.relabel_configs).toEqual([{ source_labels: ['__meta_dns_name'], target_label: 'job' }])
    for (const app of apps) {
      // What the replicas make of their environment, as @stack/config reads it.
      const metrics = loadConfig(metricsVars, compose.services[app.name]?.environment ?? {})
      expect(metrics.METRICS_ENABLED, app.name).toBe(true)
      expect(sd?.port, app.name).toBe(metrics.METRICS_PORT)
    }
  })
})

describe('Grafana', () => {
  interface Panel {
    id: number
    type: string
    title: string
    datasource?: { uid: string }
    targets?: { expr: string; datasource?: { uid: string } }[]
  }
  const dashboard = JSON.parse(readFileSync(`${observability}grafana/dashboard.json`, 'utf8')) as {
    uid: string
    panels: Panel[]
  }
  // Every provisioned data source (Prometheus, and Loki for the log panels: logs.test.ts).
  const datasources = {
    datasources: ['prometheus.yml', 'loki.yml'].flatMap(
      (file) =>
        (
          parse(readFileSync(`${observability}grafana/provisioning/datasources/${file}`, 'utf8')) as {
            datasources: { uid: string; url: string }[]
          }
        ).datasources,
    ),
  }
  const providers = parse(
    readFileSync(`${observability}grafana/provisioning/dashboards/stack.yml`, 'utf8'),
  ) as { providers: { options: { path: string } }[] }

  it('every panel queries a provisioned data source (Prometheus or Loki); ids are unique', () => {
    const uids = datasources.datasources.map((d) => d.uid)
    const panels = dashboard.panels.filter((p) => p.type !== 'row')
    expect(panels.length).toBeGreaterThanOrEqual(10)
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length)
    for (const panel of panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0)
      expect(uids, panel.title).toContain(panel.datasource?.uid)
      for (const target of panel.targets ?? []) {
        expect(target.expr, panel.title).toMatch(/\w/)
        expect(uids, panel.title).toContain(target.datasource?.uid)
      }
    }
    expect(datasources.datasources[0]?.url).toBe('http://prometheus:9090')
  })

  it('the dashboard is mounted where the provider loads dashboards from', () => {
    const compose = stacks.development()
    const mount = compose.services.grafana?.volumes?.find((v) => v.source.endsWith('grafana/dashboard.json'))
    expect(mount?.target.startsWith(`${providers.providers[0]?.options.path}/`)).toBe(true)
  })
})
