import { testConfig } from '@stack/vitest-config'

// The compose end-to-end suite (pnpm --filter @stack/deploy test:e2e): builds the image and runs the
// stack in Docker, so it is kept out of `pnpm test`. The files one after another (e2e.test.ts, then
// e2e-rollout.test.ts: pnpm rollout under load through a proxy), each its steps in order.
export default testConfig({
  include: ['test/**/e2e*.test.ts'],
  fileParallelism: false,
  // Budgets, not speed limits: a test's compose commands have their own timeouts (a restart is stop,
  // down and up: 60 + 120 + 240 s), and the build in beforeAll may take its whole 600 s.
  testTimeout: 600_000,
  hookTimeout: 900_000,
})
