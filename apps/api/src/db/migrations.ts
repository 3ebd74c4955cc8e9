import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * This service's drizzle-kit migrations: drizzle/ at the package root, the directory of the nearest
 * package.json above this module. That one rule holds wherever the module runs from: src/db/ (tests),
 * dist/db/ (`node dist/server.js`) and dist/server.bundle.js, where import.meta.url is the bundle's
 * (the image: /app/dist/server.bundle.js, /app/drizzle). The image ships the folder through
 * package.json "files"; the migrator finds the same folder as ./drizzle of its working directory.
 */
export const migrationsFolder = join(packageRoot(fileURLToPath(import.meta.url)), 'drizzle')

function packageRoot(from: string): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}
