import { parser } from '@grafana/lezer-logql'

// The static checks of the log pipeline (logs.test.ts): LogQL parsed with Grafana's own grammar, and
// the parts of an Alloy configuration that decide what becomes a label. No Loki or Alloy image runs
// here, so these read the files as text; each returns problems as sentences, [] when all is well.

/** The labels every stream has, in compose and Kubernetes: each has few values. */
export const STREAM_LABELS = ['container', 'level', 'service', 'stream'] as const

/** Per-request values: stored beside the line as structured metadata, never a label. */
export const PER_REQUEST = ['request_id', 'route', 'status', 'trace_id'] as const

// Grafana replaces its variables before Loki sees a query; a stand-in of the same shape is parsed.
const GRAFANA_VARIABLES: [RegExp, string][] = [
  [/\$__(auto|interval|rate_interval|range)\b/g, '1m'],
  [/\$\{?(__interval_ms|__range_ms|__range_s)\}?/g, '60000'],
  [/\$\{(\w+)(?::\w+)?\}/g, 'value'],
  [/\$(\w+)/g, 'value'],
]

/** Why `query` is not LogQL (the first syntax error and where), or undefined when it parses. */
export function logqlError(query: string): string | undefined {
  const text = GRAFANA_VARIABLES.reduce((q, [pattern, value]) => q.replace(pattern, value), query)
  if (text.trim() === '') return 'the query is empty'
  let at: number | undefined
  parser.parse(text).iterate({
    enter: (node) => {
      if (node.type.isError && at === undefined) at = node.from
    },
  })
  if (at === undefined) return undefined
  return `syntax error at ${at}: ${JSON.stringify(text.slice(0, at))} ⟨here⟩ ${JSON.stringify(text.slice(at))}`
}

/** The label names a query's stream selectors match on (`{service="api"}` -> service). */
export function selectorLabels(query: string): string[] {
  const text = GRAFANA_VARIABLES.reduce((q, [pattern, value]) => q.replace(pattern, value), query)
  const selectors: [number, number][] = []
  const names = new Set<string>()
  parser.parse(text).iterate({
    enter: (node) => {
      if (node.name === 'Selector') selectors.push([node.from, node.to])
      if (node.name === 'Identifier' && node.node.parent?.name === 'Matcher') {
        if (selectors.some(([from, to]) => node.from >= from && node.to <= to)) {
          names.add(text.slice(node.from, node.to))
        }
      }
    },
  })
  return [...names].sort()
}

interface Target {
  expr?: string
  datasource?: { type?: string; uid?: string }
}
interface Panel {
  title?: string
  datasource?: { type?: string; uid?: string }
  targets?: Target[]
  panels?: Panel[]
}
export interface Dashboard {
  panels: Panel[]
  templating?: { list: { name: string; type: string; datasource?: { type?: string }; query?: unknown }[] }
}

/** Every LogQL query of a dashboard: the targets on a Loki data source, with the panel's title. */
export function dashboardLogQueries(dashboard: Dashboard): { where: string; query: string }[] {
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])])
  return panels.flatMap((panel) =>
    (panel.targets ?? [])
      .filter((t) => (t.datasource ?? panel.datasource)?.type === 'loki')
      .map((t) => ({ where: `panel "${panel.title}"`, query: t.expr ?? '' })),
  )
}

/** The code blocks of a Markdown text marked ```logql, each one query. */
export function markdownLogQueries(markdown: string): string[] {
  return [...markdown.matchAll(/^```logql[ \t]*\n([\s\S]*?)^```/gm)].map((m) => (m[1] ?? '').trim())
}

// --- Alloy -----------------------------------------------------------------------------------------

/** The configuration without its // comments (a // inside a string, as in a URL, is kept). */
function stripComments(text: string): string {
  return text.replace(/"(?:[^"\\]|\\.)*"|\/\/[^\n]*/g, (m) => (m.startsWith('"') ? m : ''))
}

/** The bodies of every block whose header (`stage.labels`, `loki.process "pino"`) is `header`. */
export function alloyBlocks(text: string, header: string): string[] {
  const source = stripComments(text)
  const bodies: string[] = []
  const escaped = header.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  for (const m of source.matchAll(new RegExp(`(?:^|[\\s{])${escaped}(?:\\s+"[^"]*")?\\s*\\{`, 'g'))) {
    const open = (m.index ?? 0) + m[0].length
    let depth = 1
    let i = open
    for (; i < source.length && depth > 0; i++) {
      if (source[i] === '"') {
        for (i++; i < source.length && source[i] !== '"'; i++) if (source[i] === '\\') i++
      } else if (source[i] === '{') depth++
      else if (source[i] === '}') depth--
    }
    if (depth > 0) throw new Error(`${header}: the block is not closed`)
    bodies.push(source.slice(open, i - 1))
  }
  return bodies
}

/** The text of a whole block, header to closing brace, as written (comments included). */
export function alloyBlockText(text: string, header: string): string {
  // The header opens a line (a mention of it in a comment is not the block).
  const escaped = header.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const start = new RegExp(`^[ \\t]*${escaped}\\s*\\{`, 'm').exec(text)?.index ?? -1
  if (start < 0) throw new Error(`no ${header} block`)
  const [body] = alloyBlocks(text.slice(start), header)
  if (body === undefined) throw new Error(`no ${header} block`)
  // The body is taken from the comment-free text; find the same closing brace in the original.
  let depth = 0
  for (let i = text.indexOf('{', start); i < text.length; i++) {
    if (text[i] === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++
    } else if (text[i] === '{') depth++
    else if (text[i] === '}' && --depth === 0) return text.slice(start, i + 1)
  }
  throw new Error(`${header}: the block is not closed`)
}

/** `key = "value"` pairs of an object attribute (`values = { level = "", ... }`). */
function objectAttribute(body: string, name: string): Record<string, string> {
  const m = new RegExp(`\\b${name}\\s*=\\s*\\{([^}]*)\\}`).exec(body)
  if (!m) return {}
  return Object.fromEntries(
    [...(m[1] ?? '').matchAll(/(?:"([^"]+)"|(\w+))\s*=\s*"((?:[^"\\]|\\.)*)"/g)].map((p) => [
      p[1] ?? p[2] ?? '',
      (p[3] ?? '').replaceAll('\\"', '"'),
    ]),
  )
}

function listAttribute(body: string, name: string): string[] {
  const m = new RegExp(`\\b${name}\\s*=\\s*\\[([^\\]]*)\\]`).exec(body)
  return [...(m?.[1] ?? '').matchAll(/"([^"]*)"/g)].map((x) => x[1] ?? '')
}

function stringAttribute(body: string, name: string): string | undefined {
  return new RegExp(`\\b${name}\\s*=\\s*"((?:[^"\\\\]|\\\\.)*)"`).exec(body)?.[1]
}

export interface AlloyPipeline {
  /** The labels a stream ends up with. */
  labels: string[]
  structuredMetadata: string[]
  /** stage.json: extracted name -> the JSON field (a JMESPath) it is read from. */
  jsonFields: Record<string, string>
}

/**
 * What an Alloy configuration does to a line: the labels it keeps (relabel rules' target labels,
 * stage.labels and stage.static_labels, stream from stage.cri, filename from loki.source.file,
 * less stage.label_drop), its structured metadata and the JSON fields it extracts.
 */
export function alloyPipeline(config: string): AlloyPipeline {
  const labels = new Set<string>()
  for (const rule of alloyBlocks(config, 'rule')) {
    const action = stringAttribute(rule, 'action') ?? 'replace'
    const target = stringAttribute(rule, 'target_label')
    if (target && !target.startsWith('__') && ['replace', 'lowercase', 'uppercase'].includes(action)) {
      labels.add(target)
    }
    if (action === 'labelmap') labels.add(`<labelmap ${stringAttribute(rule, 'replacement') ?? '$1'}>`)
  }
  for (const body of [
    ...alloyBlocks(config, 'stage.labels'),
    ...alloyBlocks(config, 'stage.static_labels'),
  ]) {
    for (const name of Object.keys(objectAttribute(body, 'values'))) labels.add(name)
  }
  if (alloyBlocks(config, 'stage.cri').length > 0) labels.add('stream')
  if (alloyBlocks(config, 'loki.source.file').length > 0) labels.add('filename')
  for (const body of alloyBlocks(config, 'stage.label_drop')) {
    for (const name of listAttribute(body, 'values')) labels.delete(name)
  }
  const structuredMetadata = alloyBlocks(config, 'stage.structured_metadata').flatMap((b) =>
    Object.keys(objectAttribute(b, 'values')),
  )
  const jsonFields = Object.assign(
    {},
    ...alloyBlocks(config, 'stage.json').map((b) => {
      const pairs = objectAttribute(b, 'expressions')
      // An empty expression reads the field of the same name.
      return Object.fromEntries(Object.entries(pairs).map(([k, v]) => [k, v === '' ? k : v]))
    }),
  ) as Record<string, string>
  return { labels: [...labels].sort(), structuredMetadata: structuredMetadata.sort(), jsonFields }
}

/** What is wrong with the labels and metadata of a pipeline, as sentences. */
export function pipelineProblems(pipeline: AlloyPipeline): string[] {
  const problems: string[] = []
  for (const name of pipeline.labels) {
    if ((PER_REQUEST as readonly string[]).includes(name)) {
      problems.push(`${name} is a label: one stream per value; it belongs in structured metadata`)
    } else if (!(STREAM_LABELS as readonly string[]).includes(name)) {
      problems.push(`${name} is a label, not one of ${STREAM_LABELS.join(', ')}`)
    }
  }
  for (const name of STREAM_LABELS) {
    if (!pipeline.labels.includes(name)) problems.push(`the ${name} label is not set`)
  }
  for (const name of PER_REQUEST) {
    if (!pipeline.structuredMetadata.includes(name)) problems.push(`${name} is not structured metadata`)
    if (!pipeline.jsonFields[name]) problems.push(`${name} is not extracted from the JSON line`)
  }
  return problems
}

// --- compose hardening -------------------------------------------------------------------------------

/** What a monitoring service must carry, as Prometheus and Grafana do (model.ts Service's fields). */
export interface HardenedService {
  name: string
  image?: string
  ports: unknown[]
  readOnly: boolean
  capDrop: string[]
  securityOpt: string[]
  cpuLimit?: number
  memoryLimitBytes?: number
  restart?: string
  healthcheck?: { disabled: boolean }
  logging?: { driver?: string; options: Record<string, string> }
  volumes: { type: string; source?: string; target: string; readOnly: boolean }[]
}

/**
 * The hardening of every monitoring service: pinned image, no published port, read-only root, no
 * capabilities, no privilege gain, CPU and memory limits, restarted, logs rotated, bind mounts
 * read-only, and a health signal: a healthcheck, or (an image that cannot run one) a Prometheus
 * scrape target of its own, named in `scraped`.
 */
export function monitoringHardening(services: HardenedService[], scraped: string[]): string[] {
  return services.flatMap((s) => {
    const problems: string[] = []
    if (!/^[\w./-]+:v?\d+\.\d+\.\d+$/.test(s.image ?? ''))
      problems.push(`${s.name}: image is not pinned by tag`)
    if (s.ports.length > 0) problems.push(`${s.name}: publishes a port`)
    if (!s.readOnly) problems.push(`${s.name}: root filesystem is writable (read_only)`)
    if (!s.capDrop.includes('ALL')) problems.push(`${s.name}: capabilities are not dropped (cap_drop: [ALL])`)
    if (!s.securityOpt.some((o) => /^no-new-privileges(:true)?$/.test(o))) {
      problems.push(`${s.name}: no-new-privileges is not set`)
    }
    if (s.cpuLimit === undefined) problems.push(`${s.name}: has no CPU limit`)
    if (s.memoryLimitBytes === undefined) problems.push(`${s.name}: has no memory limit`)
    if (!s.restart || s.restart === 'no') problems.push(`${s.name}: is not restarted`)
    if (!(s.logging?.driver === 'local' || s.logging?.options['max-size'])) {
      problems.push(`${s.name}: logs are not rotated`)
    }
    for (const v of s.volumes.filter((v) => v.type === 'bind' && !v.readOnly)) {
      problems.push(`${s.name}: ${v.source ?? '?'} is mounted writable`)
    }
    if ((!s.healthcheck || s.healthcheck.disabled) && !scraped.includes(s.name)) {
      problems.push(`${s.name}: has neither a healthcheck nor a Prometheus scrape target`)
    }
    return problems
  })
}
