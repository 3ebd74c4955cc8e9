import { testConfig } from '@stack/vitest-config'

export default testConfig({ include: ['test/**/*.test.ts'], exclude: ['test/**/e2e*.test.ts'] })
