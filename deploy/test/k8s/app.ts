import { databaseVars, migrateVars, pressureVars, serverVars } from '@stack/config'

/**
 * What the manifests of every service in apps/ (../apps.ts: name, image, database) must agree with:
 * the health routes and the migrator @stack/service and @stack/migrate give each of them. Numbers
 * the app reads from its environment come from @stack/config (see `configDefault`), so a changed
 * default fails these tests instead of drifting away from the manifests.
 */
export const app = {
  livePath: '/health/live',
  readyPath: '/health/ready',
  migrateCommand: ['node', 'node_modules/@stack/migrate/dist/cli.js', 'up'],
  /** The migrator holds one database connection while it runs. */
  migratorConnections: 1,
  /** Declares a managed database's max_connections where no PostgreSQL is rendered (prod). */
  maxConnectionsAnnotation: 'stack/postgres-max-connections',
  /** Share of max_connections the services may use: the rest is for superusers, admin sessions, other clients. */
  connectionShare: 0.8,
  /** Largest share of the memory limit V8's old space may take; the rest is code, buffers, native memory. */
  heapShare: 0.8,
} as const

const groups = [serverVars, pressureVars, databaseVars, migrateVars] as const

/** The default the app applies when the variable is unset, or undefined when it has none. */
export function configDefault(name: string): string | undefined {
  for (const group of groups) {
    const schema = (group as Record<string, { default?: unknown } | undefined>)[name]
    if (schema && schema.default !== undefined) return String(schema.default)
  }
  return undefined
}
