import { basename } from 'node:path'
import { defineConfig, type ViteUserConfig } from 'vitest/config'

type TestOptions = NonNullable<ViteUserConfig['test']>

/**
 * The Vitest config every package uses. With VITEST_JSON_DIR set (CI), each run also writes a JSON
 * report there, which .ci/summary.mjs adds up into CI's "N passed, N failed" line.
 */
export function testConfig(test: TestOptions = {}): ViteUserConfig {
  const dir = process.env.VITEST_JSON_DIR
  const name = `${basename(process.cwd())}-${process.pid}`
  return defineConfig({
    test: {
      ...test,
      reporters: dir ? ['default', ['json', { outputFile: `${dir}/${name}.json` }]] : ['default'],
    },
  })
}

/** For packages whose tests need PostgreSQL: one server per run (see @stack/testing). */
export function postgresTestConfig(test: TestOptions = {}): ViteUserConfig {
  return testConfig({
    globalSetup: ['@stack/testing/global-setup'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    ...test,
  })
}
