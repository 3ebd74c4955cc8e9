import { testConfig } from '@stack/vitest-config'

// The compose end-to-end suite (pnpm --filter @stack/deploy test:e2e): builds the image and runs the
// stack in Docker, so it is kept out of `pnpm test`. One file, its steps in order.
export default testConfig({
  include: ['test/**/e2e*.test.ts'],
  fileParallelism: false,
  testTimeout: 240_000,
  hookTimeout: 300_000,
})
