import { testConfig } from '@stack/vitest-config'

// Each test copies the repository, installs and builds its base revision in a worktree and runs the
// API's tests there: minutes, not seconds, and one at a time (pnpm and turbo use both cores).
export default testConfig({
  include: ['test/**/*.test.ts'],
  testTimeout: 1_200_000,
  hookTimeout: 600_000,
})
