import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * The drizzle-kit migrations of this schema. In the package they are `../drizzle` from this module
 * (files: ["drizzle"]). A bundled service (apps/api/scripts/bundle.ts) copies them to `drizzle/`
 * beside its bundle, where `import.meta.url` is the bundle's own: that place is looked at first.
 */
function locate(): string {
  const beside = fileURLToPath(new URL('./drizzle', import.meta.url))
  return existsSync(beside) ? beside : fileURLToPath(new URL('../drizzle', import.meta.url))
}

export const migrationsFolder = locate()
