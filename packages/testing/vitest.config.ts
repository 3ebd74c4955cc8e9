import { testConfig } from '@stack/vitest-config'

export default testConfig({ testTimeout: 120_000, hookTimeout: 120_000 })
