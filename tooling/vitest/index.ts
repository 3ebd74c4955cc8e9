import { basename } from 'node:path'
import { defineConfig, type ViteUserConfig } from 'vitest/config'

type TestOptions = NonNullable<ViteUserConfig['test']>

/**
 * Timeouts catch hangs; they are not a speed limit. Vitest's defaults (5 s a test, 10 s a hook) fail
 * a test that spawns promtool, kubectl or PostgreSQL on a loaded 2-core machine, and a verdict that
 * depends on the machine's speed is a flaky one: speed is what `pnpm bench` measures. A test whose
 * steps are longer still (a generated service's install and build) sets its own budget.
 */
const TIMEOUTS = { testTimeout: 120_000, hookTimeout: 300_000, teardownTimeout: 120_000 } as const

/**
 * The Vitest config every package uses. With VITEST_JSON_DIR set (CI), each run also writes a JSON
 * report there, which .ci/summary.mjs adds up into CI's "N passed, N failed" line.
 */
export function testConfig(test: TestOptions = {}): ViteUserConfig {
  const dir = process.env.VITEST_JSON_DIR
  const name = `${basename(process.cwd())}-${process.pid}`
  return defineConfig({
    test: {
      ...TIMEOUTS,
      ...test,
      reporters: dir ? ['default', ['json', { outputFile: `${dir}/${name}.json` }]] : ['default'],
    },
  })
}

/** For packages whose tests need PostgreSQL: one server per run (see @stack/testing). */
export function postgresTestConfig(test: TestOptions = {}): ViteUserConfig {
  return testConfig({
    globalSetup: ['@stack/testing/global-setup'],
    ...test,
  })
}
