import { fileURLToPath } from 'node:url'

/** The drizzle-kit migrations of this schema, shipped in the package (files: ["drizzle"]). */
export const migrationsFolder = fileURLToPath(new URL('../drizzle', import.meta.url))
