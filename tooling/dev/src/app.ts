import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface DevApp {
  /** apps/<name> */
  dir: string
  /** Its package name, e.g. @stack/api, for turbo's filter. */
  packageName: string
  /** Its drizzle-kit migrations (its dir + /drizzle), or undefined for a service without a database. */
  migrationsFolder: string | undefined
}

/** The app `pnpm dev <name>` runs: apps/<name>, its package and its own migrations. */
export function findApp(root: string, name: string): DevApp {
  const dir = join(root, 'apps', name)
  const manifest = join(dir, 'package.json')
  if (!/^[a-z][a-z0-9-]*$/.test(name) || !existsSync(manifest)) {
    throw new Error(`no app "${name}": expected apps/${name}/package.json`)
  }
  const { name: packageName } = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string }
  const migrations = join(dir, 'drizzle')
  return { dir, packageName, migrationsFolder: existsSync(migrations) ? migrations : undefined }
}
