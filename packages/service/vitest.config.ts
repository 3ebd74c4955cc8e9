import { testConfig } from '@stack/vitest-config'

// No database here: the service plumbing is tested on its own; apps/api tests it with PostgreSQL.
export default testConfig({ testTimeout: 30_000 })
