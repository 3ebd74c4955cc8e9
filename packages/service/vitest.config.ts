import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    globalSetup: ['@stack/testing/global-setup'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
})
