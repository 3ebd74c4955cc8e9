import { testConfig } from '@stack/vitest-config'

// The generation test copies the repository, installs, builds and tests a generated service: minutes,
// not seconds, and one at a time (it runs pnpm and turbo, which use both cores). Each of its tests
// sets the budget of the commands it runs; copying the repository in beforeAll gets 10 minutes.
export default testConfig({
  include: ['test/**/*.test.ts'],
  hookTimeout: 600_000,
})
