import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import type { ServiceSpec } from './compose.ts'
import { deriveDockerfile } from './dockerfile.ts'
import type { Plan } from './plan.ts'
import { API } from './repo.ts'
import { readTemplate, render, templateDir, templateFiles } from './template.ts'

/**
 * apps/<name>: package.json, tsconfigs (the API's), the Dockerfile (derived from the API's), the
 * sources and tests from template/ (common/, and with-db/ for --with-db), and a README. Every piece of
 * plumbing comes from @stack/service, @stack/config and @stack/db as dependencies, never as copies.
 */
export function planSkeleton(plan: Plan, spec: ServiceSpec): void {
  const { names, withDb } = spec
  const dir = `apps/${names.name}`
  const values: Record<string, string> = {
    NAME: names.name,
    PACKAGE: names.packageName,
    IMAGE: names.image,
    ENV: names.envPrefix,
    DATABASE: names.database,
    PORT: String(spec.port),
    METRICS_PORT: String(spec.metricsPort),
    SNAPSHOT_ID: randomUUID(),
    WHEN: String(Date.now()),
  }
  const flags = { db: withDb }
  const sets = ['common', ...(withDb ? ['with-db'] : [])]
  for (const set of sets) {
    for (const { source, target } of templateFiles(join(templateDir, set))) {
      plan.create(`${dir}/${target}`, render(readTemplate(source), values, flags))
    }
  }
  plan.create(`${dir}/package.json`, `${JSON.stringify(packageJson(spec), null, 2)}\n`)
  for (const file of ['tsconfig.json', 'tsconfig.build.json']) {
    plan.create(`${dir}/${file}`, plan.read(`apps/${API}/${file}`))
  }
  plan.create(`${dir}/Dockerfile`, deriveDockerfile(plan.read(`apps/${API}/Dockerfile`), spec))
}

function packageJson({ names, withDb }: ServiceSpec) {
  const sorted = (entries: string[]) =>
    Object.fromEntries(
      entries.sort().map((dep) => [dep, dep.startsWith('@stack/') ? 'workspace:*' : 'catalog:']),
    )
  return {
    name: names.packageName,
    private: true,
    version: '0.1.0',
    type: 'module',
    exports: { '.': { types: './dist/app.d.ts', default: './dist/app.js' } },
    // drizzle/ ships in the image: the migrator (MIGRATIONS_DIR) and readiness read it.
    files: ['dist', ...(withDb ? ['drizzle'] : [])],
    scripts: {
      build: 'tsc -p tsconfig.build.json',
      typecheck: 'tsc --noEmit',
      test: 'vitest run',
      dev: 'tsx watch --clear-screen=false src/server.ts',
      start: 'node dist/server.js',
      ...(withDb ? { generate: 'drizzle-kit generate', check: 'drizzle-kit check' } : {}),
    },
    dependencies: sorted([
      '@fastify/type-provider-typebox',
      '@stack/config',
      '@stack/service',
      'fastify',
      'pino',
      'typebox',
      ...(withDb ? ['@stack/db', '@stack/migrate', 'drizzle-orm'] : []),
    ]),
    devDependencies: sorted([
      '@stack/testing',
      '@stack/tsconfig',
      '@stack/vitest-config',
      '@types/node',
      'tsx',
      'typescript',
      'vitest',
      ...(withDb ? ['drizzle-kit'] : []),
    ]),
  }
}
