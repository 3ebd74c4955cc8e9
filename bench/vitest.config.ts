import { basename } from 'node:path'
import { defineConfig } from 'vitest/config'

// The reliability suite (pnpm test:reliability): long scenarios against the real built server and a
// real PostgreSQL. One file at a time: each measures the server under load on a 2-core machine.
const jsonDir = process.env.VITEST_JSON_DIR

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/support/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 180_000,
    // With VITEST_JSON_DIR set (CI), a JSON report too, for CI's pass/fail summary.
    reporters: jsonDir
      ? ['default', ['json', { outputFile: `${jsonDir}/${basename(process.cwd())}-${process.pid}.json` }]]
      : ['default'],
  },
})
