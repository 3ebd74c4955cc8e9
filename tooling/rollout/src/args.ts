import { parseArgs } from 'node:util'
import { UsageError } from './errors.ts'

export const USAGE =
  'usage: pnpm rollout [service…] (--tag TAG | --to TAG) [-p PROJECT] [-f FILE…] [--env-file FILE] ' +
  '[--project-directory DIR] [--proxy-url URL] [--proxy-host HOST] [--no-proxy-check] [--timeout SECONDS] [--batch N]'

export interface Options {
  /** Services to roll, in order; empty: every app service of the project. */
  services: string[]
  tag: string
  /** True when given as --to (a rollback of a bad release: the same procedure, said so in the log). */
  rollback: boolean
  project?: string
  files: string[]
  envFiles: string[]
  projectDirectory?: string
  /** Where to check that the proxy answers with the new version; default from the compose model. */
  proxyUrl?: string
  /** The Host header for proxyUrl (the router's host name). */
  proxyHost?: string
  proxyCheck: boolean
  /** Deadline for the new replicas to be healthy and routed. */
  timeoutMs: number
  /** Old replicas stopped at a time. */
  batch: number
  help: boolean
}

// A Docker image tag (docs.docker.com "image tag"): up to 128 of [\w.-], not starting with . or -.
const TAG = /^\w[\w.-]{0,127}$/
// Compose service names.
const SERVICE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

function positiveInt(name: string, text: string, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw new UsageError(`--${name} must be a whole number from 1 to ${max}, got "${text}"`)
  }
  return Number(text)
}

export function parseOptions(argv: string[]): Options {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0] as string)
  }
  const { values: v, positionals } = parsed
  if (v.help) return { ...defaults(), help: true }
  if (v.tag !== undefined && v.to !== undefined) throw new UsageError('give --tag or --to, not both')
  const tag = v.tag ?? v.to
  if (tag === undefined) throw new UsageError('the release to roll out is missing: --tag TAG (or --to TAG)')
  if (!TAG.test(tag)) throw new UsageError(`"${tag}" is not a Docker image tag`)
  for (const s of positionals)
    if (!SERVICE.test(s)) throw new UsageError(`"${s}" is not a compose service name`)
  if (v['no-proxy-check'] && (v['proxy-url'] !== undefined || v['proxy-host'] !== undefined)) {
    throw new UsageError('--no-proxy-check contradicts --proxy-url / --proxy-host')
  }
  if (v['proxy-url'] !== undefined) {
    let url: URL
    try {
      url = new URL(v['proxy-url'])
    } catch {
      throw new UsageError(`--proxy-url "${v['proxy-url']}" is not a URL`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`--proxy-url must be http: or https:, got ${url.protocol}`)
    }
  }
  return {
    services: [...new Set(positionals)],
    tag,
    rollback: v.to !== undefined,
    ...(v.project !== undefined ? { project: v.project } : {}),
    files: v.file ?? [],
    envFiles: v['env-file'] ?? [],
    ...(v['project-directory'] !== undefined ? { projectDirectory: v['project-directory'] } : {}),
    ...(v['proxy-url'] !== undefined ? { proxyUrl: v['proxy-url'] } : {}),
    ...(v['proxy-host'] !== undefined ? { proxyHost: v['proxy-host'] } : {}),
    proxyCheck: !v['no-proxy-check'],
    timeoutMs:
      v.timeout === undefined ? defaults().timeoutMs : positiveInt('timeout', v.timeout, 3600) * 1000,
    batch: v.batch === undefined ? 1 : positiveInt('batch', v.batch, 100),
    help: false,
  }
}

function defaults(): Options {
  return {
    services: [],
    tag: '',
    rollback: false,
    files: [],
    envFiles: [],
    proxyCheck: true,
    timeoutMs: 180_000,
    batch: 1,
    help: false,
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      tag: { type: 'string' },
      to: { type: 'string' },
      project: { type: 'string', short: 'p' },
      file: { type: 'string', short: 'f', multiple: true },
      'env-file': { type: 'string', multiple: true },
      'project-directory': { type: 'string' },
      'proxy-url': { type: 'string' },
      'proxy-host': { type: 'string' },
      'no-proxy-check': { type: 'boolean' },
      timeout: { type: 'string' },
      batch: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
}
