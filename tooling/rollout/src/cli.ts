#!/usr/bin/env node
import { parseOptions, USAGE } from './args.ts'
import { loadModel } from './compose.ts'
import { RolloutError, UsageError } from './errors.ts'
import { acquireLock, type Lock } from './lock.ts'
import { Steps } from './log.ts'
import { type Context, type Outcome, rollOut, targets } from './rollout.ts'

// pnpm rollout [service…] --tag TAG: a release of the running compose project without a failed
// request (migrate, start-first, wait healthy and routed, drain the old). README.md in this folder.
// Exit 0 done, 1 stopped (rolled back, or the migrator failed: the old release serves), 2 usage.

let options: ReturnType<typeof parseOptions>
try {
  options = parseOptions(process.argv.slice(2))
} catch (error) {
  if (!(error instanceof UsageError)) throw error
  console.error(`rollout: ${error.message}\n${USAGE}`)
  process.exit(2)
}
if (options.help) {
  console.info(USAGE)
  process.exit(0)
}

const steps = new Steps()
const abort = new AbortController()
const draining = { now: false }
let lock: Lock | undefined
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (draining.now) {
      console.error(
        `rollout: ${signal} ignored: the new replicas serve and the old ones are draining; this finishes in seconds`,
      )
      return
    }
    if (abort.signal.aborted) {
      console.error('rollout: rolling back, please wait')
      return
    }
    abort.abort(signal)
  })
}

const t0 = performance.now()
const done: Outcome[] = []
try {
  const model = await loadModel(options)
  const project = { ...options, project: options.project ?? model.name }
  lock = acquireLock(project.project)
  const ctx: Context = { options, project, steps, signal: abort.signal, draining }
  const services = await steps.run('plan', undefined, async (d) => {
    const list = await targets(ctx)
    Object.assign(d, {
      project: project.project,
      services: list,
      tag: options.tag,
      rollback: options.rollback,
    })
    return list
  })
  for (const service of services) done.push(await rollOut(ctx, service))
  const seconds = ((performance.now() - t0) / 1000).toFixed(1)
  steps.record({ step: 'done', ok: true, ms: Math.round(performance.now() - t0) })
  console.error(
    `rollout: ${options.rollback ? 'rolled back to' : 'released'} ${options.tag} in ${seconds} s, project ${project.project}:`,
  )
  for (const o of done) {
    console.error(
      o.skipped
        ? `  ${o.service}: ${o.skipped}, nothing to do`
        : `  ${o.service}: ${o.replicas} replica(s) of ${o.image}, replacing ${o.replaced.join(', ')}`,
    )
  }
  // Compose reads the tag from the environment at every `up`: without it, the next one recreates
  // every replica from the old tag.
  const vars = [...new Set(done.map((o) => `${o.variable}=${options.tag}`))]
  console.error(
    `rollout: keep ${vars.join(' ')} in the project's .env (or the environment) for later docker compose up -d`,
  )
} catch (error) {
  lock?.release()
  if (!(error instanceof RolloutError)) throw error
  steps.record({ step: 'done', ok: false, ms: Math.round(performance.now() - t0), error: error.message })
  for (const o of done) console.error(`rollout: ${o.service} was released (${o.image}) before this failure`)
  console.error(`rollout: FAILED: ${error.message}${error.details ? `\n${error.details}` : ''}`)
  process.exit(1)
}
lock?.release()
