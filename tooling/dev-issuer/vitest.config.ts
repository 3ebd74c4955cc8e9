import { testConfig } from '@stack/vitest-config'

export default testConfig()
