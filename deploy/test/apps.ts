import { existsSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * The services in apps/, which the compose and Kubernetes checks iterate over instead of assuming
 * `api`: each is built into the image `stack/<dir>` and deployed under its directory's name; it has a
 * database when it has migrations of its own (drizzle/, which its migrator finds as ./drizzle of the
 * image's /app): the API, and a service made by `pnpm new-service <name> --with-db`.
 */
export interface App {
  name: string
  image: string
  database: boolean
}

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

export function readApps(root = repoRoot): App[] {
  const dir = `${root}apps`
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(`${dir}/${e.name}/package.json`))
    .map((e) => ({
      name: e.name,
      image: `stack/${e.name}`,
      database: existsSync(`${dir}/${e.name}/drizzle/meta/_journal.json`),
    }))
    .sort((a, b) => a.name.localeCompare(b.name))
}

export const apps: readonly App[] = readApps()

/** The repository of an image reference: no tag, no digest. */
export function imageRepository(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image
  const lastSlash = withoutDigest.lastIndexOf('/')
  const colon = withoutDigest.indexOf(':', lastSlash + 1)
  return colon === -1 ? withoutDigest : withoutDigest.slice(0, colon)
}

/** The app an image is built from (`stack/orders:1.0`, `registry.example.com/stack/orders@sha256:…`). */
export function appOfImage(image: string | undefined): App | undefined {
  if (!image) return undefined
  const repo = imageRepository(image)
  return apps.find((a) => repo === a.image || repo.endsWith(`/${a.image}`))
}

/** The development identity provider's image (tooling/dev-issuer): never one of the services, never in production. */
export const devIssuerImage = 'stack/dev-issuer'

export function isDevIssuerImage(image: string | undefined): boolean {
  if (!image) return false
  const repo = imageRepository(image)
  return repo === devIssuerImage || repo.endsWith(`/${devIssuerImage}`)
}

/** The prefix of an app's compose variables: `API` for api (API_TAG, API_HOST), `ORDER_ITEMS` for order-items. */
export function envPrefix(app: App): string {
  return app.name.toUpperCase().replaceAll('-', '_')
}
