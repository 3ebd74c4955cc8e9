import { defineConfig } from 'drizzle-kit'

// `generate` needs no database: it diffs src/db/schema against drizzle/meta.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/index.ts',
  out: './drizzle',
  casing: 'snake_case',
  strict: true,
})
