import { defineConfig } from 'vitest/config'

// No database here: the service plumbing is tested on its own; apps/api tests it with PostgreSQL.
export default defineConfig({ test: { testTimeout: 30_000 } })
