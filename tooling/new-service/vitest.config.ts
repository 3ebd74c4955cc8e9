import { testConfig } from '@stack/vitest-config'

// The generation test copies the repository, installs, builds and tests a generated service: minutes,
// not seconds, and one at a time (it runs pnpm and turbo, which use both cores).
export default testConfig({
  include: ['test/**/*.test.ts'],
  testTimeout: 60_000,
  hookTimeout: 600_000,
})
