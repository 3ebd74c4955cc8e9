import type { Document } from 'yaml'
import type { ServiceNames } from './names.ts'
import type { Plan } from './plan.ts'
import type { Renaming } from './rename.ts'
import { API, paths } from './repo.ts'
import {
  after,
  append,
  clone,
  columnOf,
  type Insertion,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  mapAt,
  type Node,
  Pair,
  pairOf,
  parse,
  printItem,
  printPair,
  remove,
  Scalar,
  seqAt,
  splice,
  YAMLMap,
  YAMLSeq,
} from './yaml.ts'

export interface ServiceSpec {
  names: ServiceNames
  /** The services already in apps/ (the API's included). */
  apps: string[]
  withDb: boolean
  port: number
  metricsPort: number
  rename: Renaming
}

/** Where the service's migrations are inside its image (WORKDIR /app, package.json "files"). */
export const IMAGE_MIGRATIONS_DIR = '/app/drizzle'

const GENERATED = 'pnpm new-service'

/**
 * compose.yaml: the service's replicas behind Traefik, derived from the `api` service (same hardening,
 * health check, drain timing, limits, logging, router middlewares), its image anchor and, with a
 * database, a one-shot that creates its database and a one-shot migrator in front of it.
 * compose.prod.yaml: its TLS override. Traefik's file provider: its serversTransport. The monitoring
 * override and Prometheus: its network and scrape job, when they exist.
 */
export function planCompose(plan: Plan, spec: ServiceSpec): void {
  const { names, withDb, rename } = spec
  const source = plan.read(paths.compose)
  const doc = parse(source, paths.compose)
  const services = mapAt(doc, ['services'])
  const api = mapAt(doc, ['services', API])
  if (!services || !api) throw new Error(`${paths.compose} has no services.${API} to derive the service from`)

  const merge = pairOf(api, '<<')?.value
  const merged = isSeq(merge) ? merge.items : isAlias(merge) ? [merge] : []
  const anchors = merged.filter(isAlias).map((a) => a.source)
  const imageAnchor = anchors.find((a) => anchorTarget(doc, a)?.has('image'))
  const otherAnchors = anchors.filter((a) => a !== imageAnchor)
  const migrator = migratorOf(doc, api)
  const postgres = postgresService(doc)

  const insertions: Insertion[] = []
  // 1. The image anchor, after the last one (the API's, or a service generated before).
  if (imageAnchor) {
    const top = isMap(doc.contents) ? doc.contents.items : []
    const pair = top.find((p) => (p.value as Node | null)?.anchor === imageAnchor)
    const last = top
      .filter((p) => isMap(p.value) && /^stack\//.test(String(p.value.get('image') ?? '')))
      .at(-1)
    if (pair && last && isScalar(pair.key)) {
      const value = clone(pair.value as YAMLMap)
      rename.node(value)
      const block = printPair(rename.text(String(pair.key.value)), value, 0, {
        comment: [
          `The ${names.name} image (${GENERATED}): its replicas${withDb ? ' and its migrator' : ''} run it.`,
        ],
      })
      insertions.push(after(source, last.value as Node, block, { blankLine: true }))
    }
  }

  // 2. The services, after the last one.
  const blocks: string[] = []
  const column = columnOf(source, services.items[0]?.key as Node)
  if (withDb) {
    if (!migrator || !postgres) {
      throw new Error(
        `${paths.compose}: --with-db needs the ${API} service's migrator and a postgres service`,
      )
    }
    blocks.push(createDatabaseService(spec, postgres, otherAnchors, api, column))
    const migrate = clone(migrator.node)
    rename.node(migrate)
    useDatabaseSecret(migrate, spec, true)
    const depends = mapAt(migrate, ['depends_on'])
    depends?.items.push(
      new Pair(new Scalar(names.createDatabaseService), condition('service_completed_successfully')),
    )
    blocks.push(
      printPair(names.migrateService, migrate, column, {
        comment: [
          `One-shot (${GENERATED}): ${names.name}'s own migrations (MIGRATIONS_DIR) into its own database,`,
          `under the runner's advisory lock, before its replicas start. Derived from ${migrator.name}.`,
        ],
      }),
    )
  }
  const service = clone(api)
  rename.node(service)
  useDatabaseSecret(service, spec, false)
  const depends = mapAt(service, ['depends_on'])
  if (!withDb) remove(service, 'depends_on')
  else if (depends && migrator) {
    for (const pair of depends.items) {
      if (isScalar(pair.key) && pair.key.value === migrator.name) pair.key = new Scalar(names.migrateService)
    }
  }
  if (!withDb) {
    // Without a database it needs only the network Traefik reaches it on.
    const proxyNetworks = new Set(networksOf(doc, 'traefik'))
    const networks = seqAt(service, ['networks'])
    if (networks && proxyNetworks.size > 0) {
      networks.items = networks.items.filter((n) => isScalar(n) && proxyNetworks.has(String(n.value)))
    }
  }
  blocks.push(
    printPair(names.name, service, column, {
      comment: [
        `${names.name} (${GENERATED}): derived from the ${API} service, with its own image, router`,
        `(Host ${names.name}.localhost, ${names.envPrefix}_HOST), port ${spec.port}${withDb ? ' and database' : ''}.`,
      ],
    }),
  )
  insertions.push(append(source, services, blocks.join('\n'), { blankLine: true }))

  // 3. Its database URL as a secret file of its own.
  if (withDb) {
    const secrets = mapAt(doc, ['secrets'])
    const apiSecret = pairOf(secrets, 'database-url')
    if (!secrets || !apiSecret) throw new Error(`${paths.compose} has no database-url secret to derive from`)
    const value = clone(apiSecret.value as YAMLMap)
    const file = pairOf(value, 'file')
    if (!file || !isScalar(file.value))
      throw new Error(`${paths.compose}: the database-url secret is not a file`)
    const path = String(file.value.value)
    file.value = new Scalar(path.replace(/database-url(\.[a-z]+)$/, `${names.databaseUrlSecret}$1`))
    insertions.push(
      append(
        source,
        secrets,
        printPair(names.databaseUrlSecret, value, columnOf(source, secrets.items[0]?.key as Node)),
      ),
    )
    const defaultFile = path.replace(/\$\{[A-Z_]+:-([^}]+)\}/g, '$1').replace(/^\.\//, '')
    const url = new URL(plan.read(defaultFile).trim())
    url.pathname = `/${names.database}`
    plan.create(
      defaultFile.replace(/database-url(\.[a-z]+)$/, `${names.databaseUrlSecret}$1`),
      `${url.toString()}\n`,
    )
  }
  plan.update(paths.compose, () => check(splice(source, insertions), paths.compose))

  planComposeProd(plan, spec)
  planTraefikFile(plan, doc, api, spec)
  planMonitoring(plan, spec)
}

function planComposeProd(plan: Plan, spec: ServiceSpec): void {
  if (!plan.exists(paths.composeProd)) return
  const source = plan.read(paths.composeProd)
  const doc = parse(source, paths.composeProd)
  const services = mapAt(doc, ['services'])
  const api = mapAt(doc, ['services', API])
  if (!services || !api) return
  const service = clone(api)
  spec.rename.node(service)
  const block = printPair(spec.names.name, service, columnOf(source, services.items[0]?.key as Node), {
    comment: [
      `${spec.names.name} (${GENERATED}): the same certificate and headers as ${API}, for ${spec.names.envPrefix}_HOST.`,
    ],
  })
  const insertions = [append(source, services, block, { blankLine: true })]
  // Production reads its database URL from SECRETS_DIR too, never the committed development file.
  const secrets = mapAt(doc, ['secrets'])
  const apiSecret = pairOf(secrets, 'database-url')
  if (spec.withDb && secrets && apiSecret) {
    const value = clone(apiSecret.value as YAMLMap)
    const file = pairOf(value, 'file')
    if (file && isScalar(file.value)) {
      const path = String(file.value.value)
      file.value = new Scalar(path.replace(/database-url(\.[a-z]+)$/, `${spec.names.databaseUrlSecret}$1`))
      insertions.push(
        append(
          source,
          secrets,
          printPair(spec.names.databaseUrlSecret, value, columnOf(source, secrets.items[0]?.key as Node)),
        ),
      )
    }
  }
  plan.update(paths.composeProd, () => check(splice(source, insertions), paths.composeProd))
}

/** The serversTransport the API's labels name in Traefik's file provider, copied for the service. */
function planTraefikFile(plan: Plan, doc: Document, api: YAMLMap, spec: ServiceSpec): void {
  const labels = seqAt(api, ['labels'])?.items.map((l) => String(isScalar(l) ? l.value : '')) ?? []
  const ref = labels.map((l) => /\.loadbalancer\.serverstransport=([^@]+)@file$/i.exec(l)?.[1]).find(Boolean)
  if (!ref) return
  const mount = seqAt(doc, ['services', 'traefik', 'volumes'])
    ?.items.map((v) => String(isScalar(v) ? v.value : ''))
    .find((v) => /^\.\/[^:]+:\/etc\/traefik\//.test(v))
  const mounted = mount?.split(':')[0]?.replace(/^\.\//, '')
  // Traefik reads a directory (providers.file.directory, so that edits replacing a file are seen);
  // the transports are in its dynamic.yml.
  const file = mounted && !/\.ya?ml$/.test(mounted) ? `${mounted}/dynamic.yml` : mounted
  if (!file || !plan.exists(file)) return
  const source = plan.read(file)
  const dynamic = parse(source, file)
  const transports = mapAt(dynamic, ['http', 'serversTransports'])
  const transport = pairOf(transports, ref)
  if (!transports || !transport) return
  const value = clone(transport.value as YAMLMap)
  spec.rename.node(value)
  const block = printPair(spec.rename.text(ref), value, columnOf(source, transports.items[0]?.key as Node), {
    comment: [`How Traefik talks to the ${spec.names.name} replicas (${GENERATED}, from ${ref}).`],
  })
  plan.update(file, () => check(splice(source, [append(source, transports, block)]), file))
}

function planMonitoring(plan: Plan, spec: ServiceSpec): void {
  if (plan.exists(paths.composeMonitoring)) {
    const source = plan.read(paths.composeMonitoring)
    const doc = parse(source, paths.composeMonitoring)
    const services = mapAt(doc, ['services'])
    const api = mapAt(doc, ['services', API])
    if (services && api) {
      const service = clone(api)
      spec.rename.node(service)
      const block = printPair(spec.names.name, service, columnOf(source, services.items[0]?.key as Node))
      const pair = services.items
        .filter((p) => isScalar(p.key) && spec.apps.includes(String(p.key.value)))
        .at(-1) as Pair
      plan.update(paths.composeMonitoring, () =>
        check(
          splice(source, [after(source, pair.value as Node, block, { blankLine: true })]),
          paths.composeMonitoring,
        ),
      )
    }
  }
  if (plan.exists(paths.prometheus)) {
    const source = plan.read(paths.prometheus)
    const doc = parse(source, paths.prometheus)
    const jobs = seqAt(doc, ['scrape_configs'])
    const job = jobs?.items.find((j) => isMap(j) && j.get('job_name') === API) as YAMLMap | undefined
    const last = jobs?.items.filter((j) => isMap(j) && spec.apps.includes(String(j.get('job_name')))).at(-1)
    if (jobs && job && last) {
      const copy = clone(job)
      copy.commentBefore = undefined
      spec.rename.node(copy)
      // The column of the `-`: the item's map starts two characters later.
      const block = printItem(copy, Math.max(0, columnOf(source, job) - 2), {
        comment: [`Every ${spec.names.name} replica (${GENERATED}, like ${API}), on its metrics port.`],
      })
      plan.update(paths.prometheus, () =>
        check(splice(source, [after(source, last as Node, block, { blankLine: true })]), paths.prometheus),
      )
    }
  }
}

/** The one-shot that runs psql from PostgreSQL's own image as the server's owner. */
function createDatabaseService(
  spec: ServiceSpec,
  postgres: { name: string; node: YAMLMap },
  anchors: string[],
  api: YAMLMap,
  column: number,
): string {
  const env = mapAt(postgres.node, ['environment'])
  const user = String(env?.get('POSTGRES_USER') ?? 'postgres')
  const database = String(env?.get('POSTGRES_DB') ?? user)
  const passwordFile = String(env?.get('POSTGRES_PASSWORD_FILE') ?? '')
  const secret = /^\/run\/secrets\/(.+)$/.exec(passwordFile)?.[1]
  if (!secret) throw new Error(`${paths.compose}: ${postgres.name} has no POSTGRES_PASSWORD_FILE secret`)
  const networks =
    seqAt(postgres.node, ['networks'])?.items.map((n) => String(isScalar(n) ? n.value : '')) ?? []
  const logging = pairOf(api, 'logging')?.value
  const lines = [
    `# One-shot (${GENERATED}): creates the ${spec.names.database} database when it is missing. Every service`,
    '# has a database of its own: the migration runner keeps one history table and one lock per',
    '# database. psql from the PostgreSQL image, as the server owner; restartable, and a no-op once done.',
    `${spec.names.createDatabaseService}:`,
    ...(anchors.length > 0
      ? [`  <<: ${anchors.length === 1 ? `*${anchors[0]}` : `[${anchors.map((a) => `*${a}`).join(', ')}]`}`]
      : []),
    `  image: ${String(postgres.node.get('image'))}`,
    '  user: postgres',
    '  entrypoint: ["sh", "-c"]',
    '  command:',
    '    - |',
    ...createDatabaseScript(spec.names.database, `/run/secrets/${secret}`).map((l) => `      ${l}`),
    '  environment:',
    `    PGHOST: ${postgres.name}`,
    `    PGUSER: ${user}`,
    `    PGDATABASE: ${database}`,
    '  secrets:',
    `    - ${secret}`,
    '  networks:',
    ...networks.map((n) => `    - ${n}`),
    '  depends_on:',
    `    ${postgres.name}:`,
    '      condition: service_healthy',
    '  restart: "no"',
    '  deploy:',
    '    resources:',
    '      limits:',
    '        cpus: "0.5"',
    '        memory: 64M',
    ...(isAlias(logging) ? [`  logging: *${logging.source}`] : []),
  ]
  return lines
    .map((l) => ' '.repeat(column) + l)
    .join('\n')
    .concat('\n')
}

/**
 * The shell lines that create `database` unless it exists: idempotent, and safe when two run at once
 * (the loser of the race finds it there). No `$` anywhere, so the same lines work in a compose file,
 * where `$` would be compose's own interpolation, and in a Kubernetes manifest.
 */
export function createDatabaseScript(
  database: string,
  passwordFile: string,
  before: string[] = [],
): string[] {
  return [
    'set -eu',
    ...before,
    `read -r PGPASSWORD < ${passwordFile} || :`,
    'export PGPASSWORD',
    `exists() { psql -XtAc "select 1 from pg_database where datname = '${database}'" | grep -qx 1; }`,
    `exists || psql -Xqc 'create database ${database}' || exists`,
  ]
}

/** The database URL secret: the service's own, or none without a database. */
function useDatabaseSecret(service: YAMLMap, spec: ServiceSpec, migrator: boolean): void {
  const env = mapAt(service, ['environment'])
  const secret = spec.names.databaseUrlSecret
  if (!spec.withDb) {
    remove(service, 'secrets')
    if (env)
      env.items = env.items.filter((p) => !(isScalar(p.key) && String(p.key.value).startsWith('DATABASE_')))
    return
  }
  const list = new YAMLSeq()
  list.items.push(new Scalar(secret))
  service.set('secrets', list)
  if (!env) return
  env.set('DATABASE_URL_FILE', new Scalar(`/run/secrets/${secret}`))
  if (migrator) {
    const at = env.items.findIndex((p) => isScalar(p.key) && p.key.value === 'DATABASE_URL_FILE')
    env.items.splice(at + 1, 0, new Pair(new Scalar('MIGRATIONS_DIR'), new Scalar(IMAGE_MIGRATIONS_DIR)))
  }
}

function condition(value: string): YAMLMap {
  const map = new YAMLMap()
  map.set('condition', value)
  return map
}

/** The service the API waits for to complete successfully and that runs @stack/migrate. */
function migratorOf(doc: Document, api: YAMLMap): { name: string; node: YAMLMap } | undefined {
  const depends = mapAt(api, ['depends_on'])
  for (const pair of depends?.items ?? []) {
    const name = isScalar(pair.key) ? String(pair.key.value) : ''
    const node = mapAt(doc, ['services', name])
    const command = JSON.stringify(node?.toJSON()?.command ?? '')
    if (node && command.includes('@stack/migrate')) return { name, node }
  }
  return undefined
}

function postgresService(doc: Document): { name: string; node: YAMLMap } | undefined {
  for (const pair of mapAt(doc, ['services'])?.items ?? []) {
    const node = pair.value
    if (isMap(node) && /^(.*\/)?postgres:/.test(String(node.get('image') ?? ''))) {
      return { name: String((pair.key as Scalar).value), node }
    }
  }
  return undefined
}

function networksOf(doc: Document, service: string): string[] {
  return (
    seqAt(doc, ['services', service, 'networks'])?.items.map((n) => String(isScalar(n) ? n.value : '')) ?? []
  )
}

function anchorTarget(doc: Document, anchor: string): YAMLMap | undefined {
  let found: YAMLMap | undefined
  const top = doc.contents
  if (isMap(top)) {
    for (const pair of top.items) {
      if (isMap(pair.value) && pair.value.anchor === anchor) found = pair.value
    }
  }
  return found
}

/** The edited text must still parse; a bug here must not leave a broken file behind. */
function check(text: string, source: string): string {
  parse(text, source)
  return text
}
