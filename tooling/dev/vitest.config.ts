import { postgresTestConfig } from '@stack/vitest-config'

export default postgresTestConfig()
