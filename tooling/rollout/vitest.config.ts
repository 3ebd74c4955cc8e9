import { testConfig } from '@stack/vitest-config'

// Argument parsing, the lock and the compose model: no Docker. The rollout itself is proven end to
// end by deploy/test/compose/e2e-rollout.test.ts (pnpm --filter @stack/deploy test:e2e).
export default testConfig({
  include: ['test/**/*.test.ts'],
})
