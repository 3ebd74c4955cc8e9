import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apps, envPrefix } from '../apps.js'
import { dockerCli } from '../compose/docker-cli.js'
import {
  devFiles,
  dockerAvailable,
  dockerEnv,
  loadPlain,
  monitoringEnv,
  monitoringFile,
} from '../compose/model.js'
import { STREAM_LABELS } from './logs.js'

// The log pipeline for real (pnpm --filter @stack/deploy test:e2e): the API with two replicas, Loki
// and Alloy from compose.monitoring.yaml, one request id sent to both replicas, and every line of
// it found in Loki by that id, from both containers. It needs the pinned Loki and Alloy images
// locally (docker image inspect); where they are absent (no registry) it says so and is skipped,
// never counted as a pass. logs.test.ts checks the same configuration statically everywhere.

const id = randomBytes(3).toString('hex')
const project = `stack-logs-${id}`
const tag = `e2e-logs-${id}`
const REPLICAS = 2
const model = loadPlain([...devFiles, monitoringFile], monitoringEnv)
const images = ['loki', 'alloy'].map((name) => model.services[name]?.image ?? `<no ${name} service>`)
/** The Node base image: it runs the queries to Loki on the monitoring network (Loki publishes nothing). */
const nodeImage = 'node:24-bookworm-slim'
const api = apps.find((a) => a.name === 'api')
if (!api) throw new Error('apps/api is missing')
const env = dockerEnv({
  ...monitoringEnv,
  [`${envPrefix(api)}_TAG`]: tag,
  [`${envPrefix(api)}_REPLICAS`]: String(REPLICAS),
  DEV_ISSUER_TAG: tag,
})

const { docker, compose, imagePresent, token } = dockerCli({
  env: () => env,
  project,
  files: ['compose.yaml', monitoringFile],
})

/** Why the suite cannot run here, or undefined when it can. Decided when the file is collected. */
function cannotRun(): string | undefined {
  if (!dockerAvailable()) return 'no Docker engine answers'
  const missing = [...images, nodeImage].filter((image) => !imagePresent(image))
  if (missing.length > 0)
    return `image(s) not present locally and no registry to pull from: ${missing.join(', ')}`
  return undefined
}
const reason = cannotRun()
if (reason) console.warn(`e2e-logs: NOT RUN (skipped, not passed): ${reason}`)

/** GET on Loki's HTTP API from a container on the monitoring network; the parsed JSON answer. */
function loki<T>(path: string, params: Record<string, string> = {}): T {
  const url = `http://loki:3100${path}?${new URLSearchParams(params)}`
  const script = `const r = await fetch(${JSON.stringify(url)}, { headers: { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' } }); console.log(r.status === 200 ? await r.text() : JSON.stringify({ status: r.status, body: await r.text() }))`
  const out = docker([
    'run',
    '--rm',
    '--network',
    `${project}_monitoring`,
    nodeImage,
    'node',
    '--input-type=module',
    '-e',
    script,
  ])
  return JSON.parse(out.trim()) as T
}

interface QueryRange {
  status?: string
  data?: {
    result: {
      stream: Record<string, string>
      values: [string, string, { structuredMetadata?: Record<string, string> }?][]
    }[]
  }
}

describe.skipIf(reason !== undefined)('logs in Loki, end to end', () => {
  const requestId = `e2e-logs-${id}`

  beforeAll(() => {
    compose(['build', 'api', 'dev-issuer'], 600_000)
    // The API's part of the stack, without the proxy (its image need not be here) and without any
    // other service in apps/ (not built here), then the log pipeline.
    const own = ['postgres', 'dev-issuer', 'createdb-api', 'migrate-api'].filter(
      (name) => model.services[name],
    )
    compose(['up', '-d', '--wait', ...own, 'api', 'loki', 'alloy'], 300_000)
  })

  afterAll(() => {
    compose(['down', '-v', '--remove-orphans', '--timeout', '10'], 180_000)
    docker(['image', 'rm', '-f', `stack/api:${tag}`, `stack/dev-issuer:${tag}`])
  })

  it('finds the lines of one request id, sent to both replicas, in Loki by that id', async () => {
    const bearer = token(['--sub', 'e2e-logs'])
    for (let index = 1; index <= REPLICAS; index++) {
      const script = `const r = await fetch('http://127.0.0.1:3000/v1/notes?limit=1', { headers: { 'x-request-id': ${JSON.stringify(requestId)}, authorization: ${JSON.stringify(`Bearer ${bearer}`)} } }); console.log(JSON.stringify({ status: r.status, id: r.headers.get('x-request-id') }))`
      const out = compose([
        'exec',
        '-T',
        '--index',
        String(index),
        'api',
        'node',
        '--input-type=module',
        '-e',
        script,
      ])
      expect(JSON.parse(out.trim().split('\n').at(-1) ?? '{}')).toEqual({ status: 200, id: requestId })
    }

    const query = `{service="api"} | request_id = "${requestId}"`
    const start = String((Date.now() - 15 * 60_000) * 1_000_000)
    let result: NonNullable<QueryRange['data']>['result'] = []
    const deadline = performance.now() + 180_000
    for (;;) {
      const answer = loki<QueryRange>('/loki/api/v1/query_range', {
        query,
        start,
        limit: '100',
        direction: 'forward',
      })
      result = answer.data?.result ?? []
      if (new Set(result.map((r) => r.stream.container)).size >= REPLICAS) break
      if (performance.now() > deadline) {
        throw new Error(
          `Loki did not return lines of ${requestId} from ${REPLICAS} containers: ${JSON.stringify(answer)}`,
        )
      }
      await sleep(2_000)
    }
    for (const { stream, values } of result) {
      expect(Object.keys(stream).sort()).toEqual([...STREAM_LABELS])
      expect(stream).toMatchObject({ service: 'api', level: 'info', stream: 'stdout' })
      for (const [, line, meta] of values) {
        expect(JSON.parse(line)).toMatchObject({ reqId: requestId, msg: 'request completed', status: 200 })
        expect(meta?.structuredMetadata).toMatchObject({
          request_id: requestId,
          route: '/v1/notes',
          status: '200',
        })
      }
    }
  })

  it('Loki holds no label beyond the four', () => {
    const labels = loki<{ data?: string[] }>('/loki/api/v1/labels', {
      start: String((Date.now() - 15 * 60_000) * 1_000_000),
    })
    expect([...(labels.data ?? [])].sort()).toEqual([...STREAM_LABELS])
  })
})

describe.runIf(reason !== undefined)('logs in Loki, end to end (cannot run here)', () => {
  it.skip(`not run: ${reason}`, () => {})
})
