import type { Options } from './args.ts'
import {
  appServices,
  type Container,
  compose,
  containers,
  loadModel,
  migratorOf,
  type Project,
  proxyTarget,
  replicasOf,
  tagVariable,
} from './compose.ts'
import { RolloutError } from './errors.ts'
import { exec, tail } from './exec.ts'
import type { Steps } from './log.ts'
import { FailedReplica, waitHealthy, waitRouted } from './wait.ts'

const READY_PATH = '/health/ready'

export interface Outcome {
  service: string
  image: string
  /** The variable to keep at the tag for later `docker compose up -d`. */
  variable: string
  skipped?: string
  replicas: number
  replaced: string[]
}

export interface Context {
  options: Options
  project: Project & { project: string }
  steps: Steps
  /** Ctrl-C (or SIGTERM) before the old replicas are touched: roll back. */
  signal: AbortSignal
  /** Set while the old replicas drain: past that point an interrupt no longer rolls back. */
  draining: { now: boolean }
}

/** The services to roll: the ones named, each checked, or every app service. */
export async function targets(ctx: Context): Promise<string[]> {
  const model = await loadModel(ctx.project)
  const apps = appServices(model)
  if (ctx.options.services.length === 0) {
    if (apps.length === 0)
      throw new RolloutError('the compose project has no app service (built, long-running)')
    return apps
  }
  for (const s of ctx.options.services) {
    if (!model.services[s])
      throw new RolloutError(
        `no service ${s} in the compose project (services: ${Object.keys(model.services).join(', ')})`,
      )
    if (!apps.includes(s))
      throw new RolloutError(
        `${s} is not an app service (built here, long-running): only ${apps.join(', ')} can be rolled out`,
      )
  }
  return ctx.options.services
}

export async function rollOut(ctx: Context, service: string): Promise<Outcome> {
  const { options, steps, project } = ctx
  const deadline = () => performance.now() + options.timeoutMs

  // Preflight: the model with the new tag, the image, the running replicas.
  const pre = await steps.run('preflight', service, async (d) => {
    const raw = await loadModel(project, {}, false)
    const variable = tagVariable(raw.services[service]?.image, service)
    const env = { [variable]: options.tag }
    const model = await loadModel(project, env)
    const image = model.services[service]?.image as string
    d.image = image
    d.variable = variable
    if ((await exec('docker', ['image', 'inspect', '--format', '{{.Id}}', image])).code !== 0) {
      throw new RolloutError(
        `the image ${image} is not on this machine: build it (docker compose build ${service}) or pull it first`,
      )
    }
    const old = (await containers(project.project, service)).filter((c) => c.status === 'running')
    if (old.length === 0) {
      throw new RolloutError(
        `${service} has no running replica in project ${project.project}: a first start is docker compose up -d`,
      )
    }
    const replicas = replicasOf(model, service)
    const migrator = migratorOf(model, service)
    const proxy = options.proxyCheck
      ? options.proxyUrl
        ? { url: options.proxyUrl, ...(options.proxyHost ? { host: options.proxyHost } : {}) }
        : proxyTarget(model, service, READY_PATH)
      : undefined
    if (options.proxyCheck && !proxy) {
      throw new RolloutError(
        `no proxy found in the project to check routing to ${service}: pass --proxy-url URL (or --no-proxy-check)`,
      )
    }
    Object.assign(d, { replicas, running: old.length, migrator: migrator ?? null, proxy: proxy?.url ?? null })
    return { variable, env, image, old, replicas, migrator, proxy }
  })
  const { variable, env, image, old, replicas, migrator, proxy } = pre
  const outcome: Outcome = { service, image, variable, replicas, replaced: old.map((c) => c.name) }
  const imageId = (await exec('docker', ['image', 'inspect', '--format', '{{.Id}}', image])).stdout.trim()
  // The same tag and the same image: nothing to do. (A tag that names the same image as the old one
  // is still a release: SERVICE_VERSION, from the tag, changes.)
  if (
    old.length === replicas &&
    old.every((c) => c.image === image) &&
    (await Promise.all(old.map((c) => runsImage(c, imageId)))).every(Boolean)
  ) {
    steps.record({ step: 'skip', service, ok: true, ms: 0, reason: `every replica already runs ${image}` })
    return { ...outcome, skipped: `already at ${options.tag}`, replaced: [] }
  }

  // The release that is live, to put the migrator's compose container back to on a failure.
  const liveTag = tagOf(old[0]?.image)
  const restoreMigrator = async (d: Record<string, unknown>) => {
    if (!migrator || !liveTag) return
    const r = await runMigrator(project, migrator, { [variable]: liveTag }, options.timeoutMs)
    d.migratorRestored = `${liveTag} (exit ${r.code})`
  }

  // The migrator of the new image, before any replica: its failure touches none. Run as its compose
  // service, recreated from the new config (not `compose run`): Compose recreates every dependent of
  // a dependency it recreates, so a migrator container left on the old config would make the next
  // plain `docker compose up -d` recreate all the replicas at once.
  if (migrator) {
    await steps.run('migrate', service, async (d) => {
      d.migrator = migrator
      const r = await runMigrator(project, migrator, env, options.timeoutMs + 120_000)
      d.exitCode = r.code
      if (r.code !== 0) {
        await restoreMigrator(d)
        throw new RolloutError(
          `the migrator ${migrator} of ${image} exited ${r.code}; no replica was touched`,
          tail(r.output, 30),
        )
      }
      d.output = tail(r.output, 2)
    })
  }

  // Start-first: N new containers from the new config beside the old ones. Not --no-deps: Compose
  // (2.26) then leaves depends_on out of the config it hashes into each new container's label, and
  // the next plain `docker compose up -d` would see every new replica as changed and recreate them
  // all at once. Without it, the dependencies are only started if stopped (--no-recreate): PostgreSQL
  // runs, and the one-shots (createdb, the migrator's compose container) run again and find nothing
  // to do.
  const oldIds = new Set(old.map((c) => c.id))
  let fresh: Container[] = []
  const rollback = async (why: Error): Promise<never> => {
    let logs: string | undefined
    const failing = why instanceof FailedReplica ? why.container : fresh[0]
    if (failing) {
      const l = await exec('docker', ['logs', '--tail', '20', failing.id])
      logs = `last log lines of ${failing.name}:\n${tail(`${l.stdout}\n${l.stderr}`, 20)}${failing.healthLog ? `\nlast health check: ${failing.healthLog.slice(0, 300)}` : ''}`
    }
    await steps.run('rollback', service, async (d) => {
      const current = (await containers(project.project, service)).filter((c) => !oldIds.has(c.id))
      d.removed = current.map((c) => c.name)
      if (current.length > 0) {
        // Drained as any replica is (a new one may already take requests), then removed.
        await exec('docker', ['stop', ...current.map((c) => c.id)], {}, 120_000)
        await exec('docker', ['rm', '-f', ...current.map((c) => c.id)])
      }
      d.serving = old.map((c) => c.name)
      await restoreMigrator(d)
    })
    throw new RolloutError(
      `${service}: ${why.message}; rolled back, the old replicas serve`,
      logs ?? (why as RolloutError).details,
    )
  }

  try {
    // A Ctrl-C while the migrator ran (it is left to finish: a migration is one transaction per file,
    // under its lock) stops here, before a new replica starts.
    if (ctx.signal.aborted) throw new RolloutError(`interrupted (${String(ctx.signal.reason)})`)
    const until = deadline()
    await steps.run('start', service, async (d) => {
      const r = await compose(
        project,
        ['up', '-d', '--no-recreate', '--scale', `${service}=${old.length + replicas}`, service],
        env,
      )
      fresh = (await containers(project.project, service)).filter((c) => !oldIds.has(c.id))
      d.started = fresh.map((c) => c.name)
      if (r.code !== 0) throw new RolloutError(`docker compose up exited ${r.code}: ${tail(r.stderr, 5)}`)
      if (fresh.length !== replicas)
        throw new RolloutError(`expected ${replicas} new replicas, found ${fresh.length}`)
      const foreign = fresh.find((c) => c.image !== image)
      if (foreign) throw new RolloutError(`new replica ${foreign.name} runs ${foreign.image}, not ${image}`)
    })
    await steps.run('healthy', service, async (d) => {
      fresh = await waitHealthy(
        fresh.map((c) => c.id),
        until,
        ctx.signal,
      )
      d.healthy = fresh.map((c) => c.name)
    })
    if (proxy) {
      await steps.run('routed', service, async (d) => {
        d.proxy = proxy.url
        Object.assign(d, await waitRouted(proxy.url, proxy.host, options.tag, replicas, until, ctx.signal))
      })
    } else {
      steps.record({ step: 'routed', service, ok: true, ms: 0, skipped: '--no-proxy-check' })
    }
    if (ctx.signal.aborted) throw new RolloutError(`interrupted (${String(ctx.signal.reason)})`)
  } catch (error) {
    return rollback(error as Error)
  }

  // Past this point the new replicas serve: an interrupt no longer rolls back; the drain finishes.
  ctx.draining.now = true
  for (let i = 0; i < old.length; i += options.batch) {
    const batch = old.slice(i, i + options.batch)
    await steps.run('drain', service, async (d) => {
      d.stopped = batch.map((c) => c.name)
      // docker stop: SIGTERM, then the container's own stop_grace_period; the replica drains.
      const stop = await exec('docker', ['stop', ...batch.map((c) => c.id)], {}, 300_000)
      if (stop.code !== 0) throw new RolloutError(`docker stop failed: ${tail(stop.stderr, 3)}`)
      const exits = await Promise.all(
        batch.map(async (c) =>
          (await exec('docker', ['inspect', '--format', '{{.State.ExitCode}}', c.id])).stdout.trim(),
        ),
      )
      d.exitCodes = exits.map(Number)
      await exec('docker', ['rm', ...batch.map((c) => c.id)])
    })
  }

  // Compose's own view: N containers of the new config, nothing to create or remove.
  await steps.run('settle', service, async (d) => {
    const r = await compose(
      project,
      ['up', '-d', '--no-deps', '--no-recreate', '--scale', `${service}=${replicas}`, service],
      env,
    )
    if (r.code !== 0)
      throw new RolloutError(`docker compose up (scale ${replicas}) exited ${r.code}: ${tail(r.stderr, 5)}`)
    const now = (await containers(project.project, service)).filter((c) => c.status === 'running')
    d.running = now.map((c) => c.name)
    if (now.length !== replicas || now.some((c) => c.image !== image)) {
      throw new RolloutError(
        `${service}: expected ${replicas} replicas of ${image}, found ${now.map((c) => `${c.name} (${c.image})`).join(', ')}`,
      )
    }
  })
  ctx.draining.now = false
  return outcome
}

async function runsImage(c: Container, imageId: string): Promise<boolean> {
  const r = await exec('docker', ['inspect', '--format', '{{.Image}}', c.id])
  return r.stdout.trim() === imageId
}

/** The tag of an image reference (`stack/api:1.4.0` -> 1.4.0), if it has one. */
export function tagOf(ref: string | undefined): string | undefined {
  const name = ref?.split('@')[0] ?? ''
  const colon = name.lastIndexOf(':')
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : undefined
}

/**
 * The migrator's compose service, recreated from the config `env` gives and run to its end (its
 * dependencies are started if stopped: createdb runs again and finds the database there). Its exit
 * code and its whole output.
 */
async function runMigrator(
  project: Context['project'],
  migrator: string,
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number; output: string }> {
  const up = await compose(project, ['up', '-d', '--force-recreate', migrator], env, timeoutMs)
  if (up.code !== 0) return { code: up.code, output: `${up.stdout}\n${up.stderr}` }
  const [c] = await containers(project.project, migrator)
  if (!c) throw new RolloutError(`docker compose up ${migrator} left no container`)
  const wait = await exec('docker', ['wait', c.id], {}, timeoutMs)
  const logs = await exec('docker', ['logs', c.id])
  const code = wait.code === 0 ? Number(wait.stdout.trim()) : wait.code
  return { code, output: `${logs.stdout}\n${logs.stderr}` }
}
