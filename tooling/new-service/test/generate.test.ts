import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { commitAll, copyRepository, removeRepository } from '@stack/testing/repository'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { changes, cli, mainRoot, ok, type Result, run } from './repo-copy.ts'

// What a newcomer does, in a copy of this repository: generate a service with a database and one
// without, install, build, lint, typecheck and test both (the one with a database against a real
// PostgreSQL), then hold the compose files and every Kubernetes overlay to the deploy checks, which
// iterate over every service in apps/. The real templates, not the fixtures' stand-ins: until the
// compose and Kubernetes templates and the packages the code templates import (@stack/service/run,
// @stack/bundle, the harness) are in this checkout, the steps from the install on fail. The copy is
// removed afterwards.

const timings: Record<string, number> = {}
let root: string

// What one command may take: generous, since a 2-core machine shared with other work can be several
// times slower than a laptop. The commands run synchronously, so a test's timeout is only checked
// when they end: each test gets the budget of all the commands it runs.
const STEP_MS = 600_000
const budget = (steps: number) => steps * STEP_MS + 60_000

function step(name: string, command: string, args: string[]): Result {
  const result = ok(run(command, args, root, { timeoutMs: STEP_MS }), `${command} ${args.join(' ')}`)
  timings[name] = (timings[name] ?? 0) + result.ms
  return result
}

beforeAll(() => {
  const started = performance.now()
  root = copyRepository(mainRoot, { prefix: 'new-service-e2e-' })
  timings.copy = Math.round(performance.now() - started)
})

afterAll(() => {
  console.info(
    `[new-service e2e] ${Object.entries(timings)
      .map(([k, ms]) => `${k} ${(ms / 1000).toFixed(1)} s`)
      .join(', ')}`,
  )
  removeRepository(root)
})

describe('pnpm new-service in a copy of the repository', () => {
  it('generates demo --with-db and plain, each with its own local ports', { timeout: budget(2) }, () => {
    // This checkout's copy of the tool, run in the copy (which is not installed yet: one install, after).
    const demo = step('generate', process.execPath, [cli, 'demo', '--with-db'])
    expect(demo.stdout).toMatch(
      /^new-service: @stack\/demo in apps\/demo \(dev port 3001, metrics 9465, own database\)/,
    )
    const plain = step('generate', process.execPath, [cli, 'plain'])
    expect(plain.stdout).toMatch(/^new-service: @stack\/plain in apps\/plain \(dev port 3002, metrics 9466\)/)
    for (const file of [
      'apps/demo/README.md',
      'apps/demo/package.json',
      'apps/demo/drizzle/0000_init.sql',
      'apps/demo/drizzle.config.ts',
      'apps/demo/src/db/schema/items.ts',
      'apps/demo/src/db/migrations.ts',
      'apps/plain/src/app.ts',
      'apps/plain/src/server.ts',
    ]) {
      expect(existsSync(join(root, file)), file).toBe(true)
    }
    expect(existsSync(join(root, 'apps/plain/drizzle'))).toBe(false)
    // The plumbing is imported, never copied: the process is runService(), the Dockerfile the shared one.
    expect(readFileSync(join(root, 'apps/demo/src/app.ts'), 'utf8')).toContain("from '@stack/service'")
    expect(readFileSync(join(root, 'apps/demo/src/server.ts'), 'utf8')).toContain("from '@stack/service/run'")
    expect(existsSync(join(root, 'apps/demo/src/plugins'))).toBe(false)
    expect(existsSync(join(root, 'apps/demo/Dockerfile'))).toBe(false)
    // Outside the two directories only lists changed, each by lines that name the new services.
    const diff = ok(run('git', ['diff', '--unified=0', '--no-color'], root), 'git diff').stdout
    const added = diff.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++'))
    const removed = diff.split('\n').filter((l) => l.startsWith('-') && !l.startsWith('---'))
    expect(removed).toEqual([])
    for (const line of added) expect(line).toMatch(/demo|plain/)
    commitAll(root, 'generated')
  })

  it('installs both', { timeout: budget(2) }, () => {
    // Offline from the pnpm store this checkout installed from; online only for what it lacks.
    const offline = run('pnpm', ['install', '--offline', '--no-frozen-lockfile'], root, {
      timeoutMs: STEP_MS,
    })
    timings.install = offline.ms
    if (offline.code !== 0) step('install', 'pnpm', ['install', '--prefer-offline', '--no-frozen-lockfile'])
  })

  it('builds both, each bundled by the shared bundle script', { timeout: budget(1) }, () => {
    step('build', 'pnpm', ['turbo', 'run', 'build', '--filter=@stack/demo...', '--filter=@stack/plain...'])
    for (const app of ['demo', 'plain']) {
      expect(existsSync(join(root, `apps/${app}/dist/server.bundle.js`)), app).toBe(true)
    }
  })

  it('lints both', { timeout: budget(1) }, () => {
    step('lint', 'pnpm', ['exec', 'biome', 'check', 'apps/demo', 'apps/plain'])
  })

  it('typechecks both', { timeout: budget(1) }, () => {
    step('typecheck', 'pnpm', ['turbo', 'run', 'typecheck', '--filter=@stack/demo', '--filter=@stack/plain'])
  })

  it('tests both: demo against PostgreSQL through @stack/testing, with its own migrations', {
    timeout: budget(1),
  }, () => {
    const result = step('test', 'pnpm', [
      'turbo',
      'run',
      'test',
      '--filter=@stack/demo',
      '--filter=@stack/plain',
    ])
    const passed = [...result.stdout.matchAll(/Tests\s+(\d+) passed/g)].map((m) => Number(m[1]))
    expect(passed).toHaveLength(2)
    expect(passed.every((n) => n > 0)).toBe(true)
  })

  it("demo's committed migration is what drizzle-kit makes of its schema, and generate lints it", {
    timeout: budget(1),
  }, () => {
    const result = step('drizzle-kit', 'pnpm', ['--filter', '@stack/demo', 'generate'])
    expect(changes(root, 'apps/demo')).toBe('')
    expect(result.stdout).toContain('stack-migrate: lint passed: 1 migration(s)')
  })

  it('renders every overlay and compose with both services and passes the Kubernetes and compose checks', {
    timeout: budget(3),
  }, () => {
    for (const file of [
      'apps/demo/compose.yaml',
      'apps/demo/k8s/kustomization.yaml',
      'apps/plain/compose.yaml',
    ]) {
      expect(existsSync(join(root, file)), file).toBe(true)
    }
    step('deploy checks', 'pnpm', [
      '--filter',
      '@stack/deploy',
      'exec',
      'vitest',
      'run',
      'test/k8s',
      'test/compose/static.test.ts',
    ])
    for (const overlay of ['dev', 'prod']) {
      const rendered = ok(
        run('kubectl', ['kustomize', `deploy/k8s/overlays/${overlay}`], root),
        'kubectl kustomize',
      )
      const objects = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as K8s)
      for (const name of ['api', 'demo', 'plain']) {
        for (const kind of [
          'Deployment',
          'Service',
          'PodDisruptionBudget',
          'HorizontalPodAutoscaler',
          'NetworkPolicy',
          'ServiceAccount',
          'IngressRoute',
        ]) {
          expect(
            objects.some((o) => o.kind === kind && o.metadata.name === name),
            `${overlay}: ${kind} ${name}`,
          ).toBe(true)
        }
      }
      const deployment = (name: string) =>
        objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name)?.spec.template.spec
      expect(deployment('demo')?.initContainers?.map((c) => c.name)).toContain('migrate')
      expect(deployment('plain')?.initContainers ?? []).toEqual([])
    }
    const compose = JSON.parse(
      ok(run('docker', ['compose', 'config', '--format', 'json'], root), 'docker compose config').stdout,
    ) as {
      services: Record<
        string,
        { depends_on?: Record<string, { condition: string }>; environment?: Record<string, string> }
      >
    }
    const gates = (name: string) =>
      Object.entries(compose.services[name]?.depends_on ?? {})
        .filter(([, d]) => d.condition === 'service_completed_successfully')
        .map(([service]) => service)
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['api', 'demo', 'plain']))
    expect(gates('demo')).toEqual(gates('api').map((s) => s.replace(/\bapi\b/, 'demo')))
    expect(gates('plain')).toEqual([])
    // Their own defaults (3001, 9465, ...) are for one machine; in a container every service listens
    // where Traefik, Prometheus and the health checks look.
    for (const name of ['api', 'demo', 'plain']) {
      const env = compose.services[name]?.environment ?? {}
      expect({ PORT: env.PORT, METRICS_PORT: env.METRICS_PORT }, name).toEqual({
        PORT: '3000',
        METRICS_PORT: '9464',
      })
    }
  })
})

interface K8s {
  kind: string
  metadata: { name: string }
  spec: { template: { spec: { initContainers?: { name: string }[] } } }
}
