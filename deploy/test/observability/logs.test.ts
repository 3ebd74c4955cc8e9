import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, type LogLine, NO_SHEDDING, otlpReceiver, spawnServer } from '@stack/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import {
  dockerAvailable,
  dockerEnv,
  loadPlain,
  monitoringEnv,
  monitoringFile,
  prodEnv,
  productionSecretsDir,
} from '../compose/model.js'
import {
  alloyBlockText,
  alloyPipeline,
  type Dashboard,
  dashboardLogQueries,
  logqlError,
  markdownLogQueries,
  monitoringHardening,
  PER_REQUEST,
  pipelineProblems,
  STREAM_LABELS,
  selectorLabels,
} from './logs.js'

// The log pipeline, checked statically: no Loki or Alloy image can be pulled here, so nothing in this
// file runs them (e2e-logs.test.ts does, where the images are present). What is checked: the LogQL
// of the dashboard and the docs parses with Grafana's grammar, the labels are the four
// low-cardinality ones in compose and in Kubernetes, the JSON fields Alloy extracts are on a real
// line of the built API, Loki's retention and limits are set, and Loki and Alloy are hardened.

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
const observability = `${repoRoot}deploy/observability/`
const k8sLogs = `${repoRoot}deploy/k8s/monitoring/logs/`
const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url))
const read = (path: string) => readFileSync(path, 'utf8')

const composeAlloy = read(`${observability}alloy/config.alloy`)
const k8sAlloyValues = parse(read(`${k8sLogs}alloy-values.yaml`)) as {
  controller: { type: string }
  alloy: { configMap: { content: string }; mounts: { varlog: boolean } }
}
const k8sAlloy = k8sAlloyValues.alloy.configMap.content
const dashboard = JSON.parse(read(`${observability}grafana/dashboard.json`)) as Dashboard

/** The Markdown files that must show an operator LogQL (the steps to find one request's lines). */
const docs = ['README.md', 'deploy/observability/README.md', 'deploy/k8s/monitoring/README.md']

/** Every Markdown file of the repository (not dependencies, not test fixtures): any may hold LogQL. */
function markdownFiles(dir = repoRoot): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      return ['node_modules', '.git', 'dist', 'fixtures'].includes(entry.name) ? [] : markdownFiles(path)
    }
    return entry.name.endsWith('.md') ? [relative(repoRoot, path)] : []
  })
}

describe('LogQL', () => {
  it('every query of the dashboard parses', () => {
    const queries = dashboardLogQueries(dashboard)
    expect(queries.length).toBeGreaterThanOrEqual(3)
    for (const { where, query } of queries) expect(logqlError(query), `${where}: ${query}`).toBeUndefined()
  })

  it.each(docs)('every ```logql block of %s parses', (doc) => {
    const queries = markdownLogQueries(read(`${repoRoot}${doc}`))
    expect(queries.length, `${doc} shows no LogQL`).toBeGreaterThan(0)
    for (const query of queries) expect(logqlError(query), query).toBeUndefined()
  })

  it('every ```logql block of any other Markdown file parses too', () => {
    const files = markdownFiles()
    expect(files).toEqual(expect.arrayContaining(docs))
    for (const file of files) {
      for (const query of markdownLogQueries(read(`${repoRoot}${file}`))) {
        expect(logqlError(query), `${file}: ${query}`).toBeUndefined()
      }
    }
  })

  it('stream selectors match only on the four labels (a request id is a filter, never a selector)', () => {
    const all = [
      ...dashboardLogQueries(dashboard).map((q) => q.query),
      ...markdownFiles().flatMap((doc) => markdownLogQueries(read(`${repoRoot}${doc}`))),
    ]
    for (const query of all) {
      for (const label of selectorLabels(query)) expect(STREAM_LABELS, query).toContain(label)
    }
  })

  it('the checker rejects a broken query and a request id in the selector', () => {
    const broken = JSON.parse(read(`${fixtures}dashboard-broken-logql.json`)) as Dashboard
    const [unclosed, asLabel] = dashboardLogQueries(broken)
    expect(logqlError(unclosed?.query ?? '')).toMatch(/^syntax error at \d+/)
    expect(selectorLabels(asLabel?.query ?? '')).toEqual(['request_id'])
    const [doc] = markdownLogQueries(read(`${fixtures}broken-logql.md`))
    expect(doc).toContain('count_over_time')
    expect(logqlError(doc ?? '')).toMatch(/^syntax error/)
    for (const bad of ['', '{service="api"', 'service="api"', '{service="api"} | json |', 'rate({a="b"})']) {
      expect(logqlError(bad), bad).toBeDefined()
    }
  })

  it('the dashboard has a request_id box and a panel of every line with that request id', () => {
    const variable = dashboard.templating?.list.find((v) => v.name === 'request_id')
    expect(variable?.type).toBe('textbox')
    const byRequest = dashboardLogQueries(dashboard).filter((q) => q.query.includes('$request_id'))
    expect(byRequest).toHaveLength(1)
    // Every service and replica: no narrowing by service or container.
    expect(byRequest[0]?.query).toMatch(
      /^\{service=~"\.\+"\} \| request_id != "" \| request_id = "\$request_id"$/,
    )
    const errors = dashboardLogQueries(dashboard).filter((q) => /level=~"warn\|error\|fatal"/.test(q.query))
    expect(errors.map((q) => q.where)).toContain('panel "Errors and warnings by service"')
  })
})

describe.each([
  ['compose', composeAlloy],
  ['Kubernetes', k8sAlloy],
])('the Alloy pipeline (%s)', (_where, config) => {
  const pipeline = alloyPipeline(config)

  it('labels streams with service, container, level and stream only', () => {
    expect(pipeline.labels).toEqual([...STREAM_LABELS])
    expect(pipelineProblems(pipeline)).toEqual([])
  })

  it('keeps request id, route, status and trace id as structured metadata, read from the JSON line', () => {
    expect(pipeline.structuredMetadata).toEqual([...PER_REQUEST])
    expect(pipeline.jsonFields).toMatchObject({
      level: 'level',
      request_id: 'reqId',
      route: 'route',
      status: 'status',
      trace_id: 'trace_id',
    })
  })

  it('parses lines with the pino block that compose uses, character for character', () => {
    expect(alloyBlockText(config, 'loki.process "pino"')).toBe(
      alloyBlockText(composeAlloy, 'loki.process "pino"'),
    )
  })
})

describe('the Alloy checks', () => {
  it('reject a pipeline that makes the request id a label', () => {
    const bad = alloyPipeline(read(`${fixtures}alloy-request-id-label.alloy`))
    expect(bad.labels).toContain('request_id')
    expect(pipelineProblems(bad)).toEqual([
      'request_id is a label: one stream per value; it belongs in structured metadata',
    ])
  })

  it('reject a label outside the four, and a missing one', () => {
    const config = composeAlloy.replace('target_label  = "container"', 'target_label  = "pod_ip"')
    expect(pipelineProblems(alloyPipeline(config))).toEqual([
      'pod_ip is a label, not one of container, level, service, stream',
      'the container label is not set',
    ])
  })

  it("count loki.source.file's filename label unless it is dropped", () => {
    const kept = k8sAlloy.replace(/stage\.label_drop \{[^}]*\}/, '')
    expect(alloyPipeline(kept).labels).toContain('filename')
  })
})

describe('Kubernetes', () => {
  it("Alloy's container is locked down as the stack's are, except that it runs as root", () => {
    const alloy = (parse(read(`${k8sLogs}alloy-values.yaml`)) as { alloy: Record<string, unknown> }).alloy
    // Root because the kubelet's log files are root's (0640); nothing else a pod of the stack lacks.
    expect(alloy.securityContext).toEqual({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    })
    expect(alloy.resources).toMatchObject({ requests: { cpu: expect.anything(), memory: expect.anything() } })
    expect(alloy.resources).toMatchObject({ limits: { memory: expect.anything() } })
  })

  it('Loki is one process on a persistent volume, with requests and limits', () => {
    const values = parse(read(`${k8sLogs}loki-values.yaml`)) as Record<string, Record<string, unknown>>
    expect(values.deploymentMode).toBe('SingleBinary')
    expect(values.singleBinary).toMatchObject({ replicas: 1, persistence: { enabled: true } })
    expect(values.singleBinary?.resources).toMatchObject({
      requests: {},
      limits: { memory: expect.anything() },
    })
    for (const target of ['read', 'write', 'backend']) expect(values[target]?.replicas, target).toBe(0)
  })

  it('Alloy runs on every node and reads the kubelet logs of the stack only', () => {
    expect(k8sAlloyValues.controller.type).toBe('daemonset')
    expect(k8sAlloyValues.alloy.mounts.varlog).toBe(true)
    expect(k8sAlloy).toContain('label = "app.kubernetes.io/part-of=stack"')
    expect(k8sAlloy).toContain('field = "spec.nodeName=" + sys.env("NODE_NAME")')
  })
})

describe('Loki', () => {
  const loki = parse(read(`${observability}loki.yaml`)) as Record<string, Record<string, unknown>>
  const values = parse(read(`${k8sLogs}loki-values.yaml`)) as { loki: Record<string, unknown> }
  const limits = loki.limits_config ?? {}

  it('deletes lines after the retention period (compactor retention on) and refuses older ones', () => {
    expect(limits.retention_period).toBe('168h')
    expect(loki.compactor).toMatchObject({ retention_enabled: true, delete_request_store: 'filesystem' })
    expect(limits.reject_old_samples).toBe(true)
    expect(limits.reject_old_samples_max_age).toBe(limits.retention_period)
  })

  it('limits ingestion, per tenant and per stream, and takes structured metadata', () => {
    for (const key of [
      'ingestion_rate_mb',
      'ingestion_burst_size_mb',
      'per_stream_rate_limit',
      'per_stream_rate_limit_burst',
      'max_line_size',
      'max_global_streams_per_user',
    ]) {
      expect(limits[key], key).toBeDefined()
    }
    expect(limits.max_label_names_per_series).toBeGreaterThanOrEqual(STREAM_LABELS.length)
    expect(limits.allow_structured_metadata).toBe(true)
    // Loki 3 adds no label of its own (service_name) beside the four.
    expect(limits.discover_service_name).toEqual([])
  })

  it('Kubernetes (Helm values) has the same limits and compactor, on filesystem storage', () => {
    expect(values.loki.limits_config).toEqual(loki.limits_config)
    expect(values.loki.compactor).toEqual(loki.compactor)
    expect(values.loki.storage).toEqual({ type: 'filesystem' })
  })

  it("Grafana's Loki data source is the Loki of compose, and links trace ids", () => {
    const source = parse(read(`${observability}grafana/provisioning/datasources/loki.yml`)) as {
      datasources: {
        uid: string
        type: string
        url: string
        jsonData: { derivedFields: Record<string, string>[] }
      }[]
    }
    const [ds] = source.datasources
    expect(ds?.uid).toBe('loki')
    expect(ds?.url).toBe(`http://loki:${(loki.server as { http_listen_port: number }).http_listen_port}`)
    expect(composeAlloy).toContain(`url = "${ds?.url}/loki/api/v1/push"`)
    expect(ds?.jsonData.derivedFields).toEqual([
      expect.objectContaining({ matcherType: 'label', matcherRegex: 'trace_id' }),
    ])
    for (const { datasource } of dashboard.panels.filter((p) => p.datasource?.type === 'loki')) {
      expect(datasource?.uid).toBe(ds?.uid)
    }
  })
})

describe('compose: Loki and Alloy', () => {
  const secretsDir = productionSecretsDir()
  afterAll(secretsDir.remove)
  const stacks = {
    development: () => loadPlain(['compose.yaml', monitoringFile], monitoringEnv),
    production: () =>
      loadPlain(['compose.yaml', 'compose.prod.yaml', monitoringFile], {
        ...prodEnv,
        ...monitoringEnv,
        SECRETS_DIR: secretsDir.dir,
      }),
  }
  const monitoring = Object.keys(
    (parse(read(`${repoRoot}${monitoringFile}`)) as { services: Record<string, unknown> }).services,
  )
  const prometheus = parse(read(`${observability}prometheus.yml`)) as {
    scrape_configs: { job_name: string; static_configs?: { targets: string[] }[] }[]
  }
  const scraped = prometheus.scrape_configs.flatMap((j) =>
    (j.static_configs ?? []).flatMap((c) => c.targets.map((t) => t.split(':')[0] ?? '')),
  )

  it.each(Object.keys(stacks) as (keyof typeof stacks)[])(
    '%s: every monitoring service is hardened like Prometheus and Grafana',
    (stack) => {
      const compose = stacks[stack]()
      expect(monitoring).toEqual(expect.arrayContaining(['prometheus', 'grafana', 'loki', 'alloy']))
      const services = monitoring.map((name) => compose.services[name]).filter((s) => s !== undefined)
      expect(services).toHaveLength(monitoring.length)
      expect(monitoringHardening(services, scraped)).toEqual([])
      // Loki is never routed: only Grafana is behind Traefik.
      expect(Object.keys(compose.services.loki?.labels ?? {})).toEqual([])
      expect(Object.keys(compose.services.alloy?.labels ?? {})).toEqual([])
    },
  )

  it('the hardening check rejects a service without it', () => {
    const bare = loadPlain([`${fixtures}monitoring-not-hardened.yaml`], {}, repoRoot).services.alloy
    if (!bare) throw new Error('fixture has no alloy service')
    expect(monitoringHardening([bare], [])).toEqual([
      'alloy: root filesystem is writable (read_only)',
      'alloy: capabilities are not dropped (cap_drop: [ALL])',
      'alloy: no-new-privileges is not set',
      'alloy: has no CPU limit',
      'alloy: has no memory limit',
      'alloy: is not restarted',
      'alloy: logs are not rotated',
      'alloy: /var/run/docker.sock is mounted writable',
      'alloy: has neither a healthcheck nor a Prometheus scrape target',
    ])
  })

  it('only Alloy sees the Docker socket, read-only; its config is mounted where it runs it from', () => {
    const compose = stacks.development()
    const socketUsers = Object.values(compose.services).filter((s) =>
      s.volumes.some((v) => v.source === '/var/run/docker.sock'),
    )
    // Traefik's Docker provider (compose.yaml) and Alloy, both read-only mounts.
    expect(socketUsers.map((s) => s.name).sort()).toEqual(['alloy', 'traefik'])
    for (const s of socketUsers) {
      expect(s.volumes.find((v) => v.source === '/var/run/docker.sock')?.readOnly, s.name).toBe(true)
    }
    const alloy = compose.services.alloy
    const config = alloy?.volumes.find((v) => v.source?.endsWith('deploy/observability/alloy/config.alloy'))
    expect(config?.readOnly).toBe(true)
    expect(alloy?.command).toContain(config?.target)
    const lokiConfig = compose.services.loki?.volumes.find((v) =>
      v.source?.endsWith('deploy/observability/loki.yaml'),
    )
    expect(compose.services.loki?.command).toContain(`-config.file=${lokiConfig?.target}`)
    // Only the stack's containers: the project name reaches the discovery filter.
    expect(composeAlloy).toContain('values = ["com.docker.compose.project=" + sys.env("STACK_PROJECT")]')
  })

  it.runIf(dockerAvailable())('docker compose gives Alloy the project name it runs under', () => {
    const out = execFileSync(
      'docker',
      [
        'compose',
        '--project-directory',
        repoRoot,
        '-p',
        'logs-check',
        '-f',
        'compose.yaml',
        '-f',
        monitoringFile,
        'config',
        '--format',
        'json',
      ],
      { cwd: repoRoot, encoding: 'utf8', env: dockerEnv(monitoringEnv), stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const config = JSON.parse(out) as { services: Record<string, { environment?: Record<string, string> }> }
    expect(config.services.alloy?.environment?.STACK_PROJECT).toBe('logs-check')
  })
})

// The fields the pipeline reads, on lines the built API really writes. The API runs without a
// database here (its port is closed): it still listens and answers /v1 with 503 DB_UNAVAILABLE,
// which logs a warn line and the request line, both with the request id. Tracing goes to a local
// OTLP receiver, so the lines carry trace_id as they do where tracing is configured.
describe('a real line of the built API', () => {
  const server = fileURLToPath(new URL('../../../apps/api/dist/server.js', import.meta.url))
  const requestId = `logs-test-${process.pid}`
  let lines: LogLine[] = []
  let response: { status: number; header: string | null; body: { requestId?: string } } | undefined

  beforeAll(async () => {
    if (!existsSync(server)) throw new Error(`${server} is missing: build the API first (pnpm build)`)
    const collector = await otlpReceiver()
    const api = await spawnServer({
      entry: server,
      env: {
        ...NO_SHEDDING,
        DATABASE_URL: `postgres://nobody:nothing@127.0.0.1:${await freePort()}/none`,
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        METRICS_ENABLED: 'false',
      },
    })
    try {
      await api.waitForLine('listening', 60_000)
      const res = await fetch(`${api.url}/v1/notes?limit=1`, { headers: { 'x-request-id': requestId } })
      response = {
        status: res.status,
        header: res.headers.get('x-request-id'),
        body: (await res.json()) as { requestId?: string },
      }
      await api.waitForLine((l) => l.msg === 'request completed' && l.reqId === requestId, 30_000)
      lines = api.lines()
    } finally {
      await api.stop('SIGTERM', 20_000)
      await collector.close()
    }
  }, 120_000)

  it('the id an operator has (response header, problem+json requestId) is the reqId of its lines', () => {
    expect(response?.status).toBe(503)
    expect(response?.header).toBe(requestId)
    expect(response?.body.requestId).toBe(requestId)
    const own = lines.filter((l) => l.reqId === requestId)
    // The warn line of the failed query and the request line: the request's whole story.
    expect(own.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'database unavailable'],
      ['info', 'request completed'],
    ])
  })

  it('carries every JSON field the Alloy pipeline extracts, as a top-level field', () => {
    const line = lines.find((l) => l.msg === 'request completed' && l.reqId === requestId)
    expect(line).toBeDefined()
    for (const [config] of [[composeAlloy], [k8sAlloy]]) {
      const fields = alloyPipeline(config ?? '').jsonFields
      expect(Object.keys(fields).length).toBeGreaterThan(0)
      for (const [name, field] of Object.entries(fields)) {
        // A plain identifier: JMESPath's simplest expression, the top-level field of that name.
        expect(field, name).toMatch(/^[A-Za-z_]\w*$/)
        expect(line, `${name} <- ${field}`).toHaveProperty(field)
      }
    }
    expect(line?.route).toBe('/v1/notes')
    expect(line?.status).toBe(503)
    expect(line?.trace_id).toMatch(/^[0-9a-f]{32}$/)
  })

  it('levels are the names the dashboard filters on, and time is what stage.timestamp parses', () => {
    for (const line of lines) {
      expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(line.level)
      // RFC 3339 with milliseconds and Z (pino's isoTime).
      expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    }
    expect(composeAlloy).toMatch(/source\s+= "time"\s+format\s+= "RFC3339"/)
  })
})
