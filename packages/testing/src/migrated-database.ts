import { loadConfig } from '@stack/config'
import { createTestDatabase, type TestDatabase } from './database.js'
import { testVars } from './vars.js'

/** @stack/migrate's runMigrations, or anything that takes the same options. */
export type MigrationRunner = (options: {
  url: string
  migrationsFolder: string
  waitTimeoutMs: number
  lockTimeoutMs: number
}) => Promise<unknown>

/**
 * The folder a test migrates with: the service's own, unless TEST_MIGRATIONS_DIR names another
 * revision's (pnpm check:compat), so that the service's tests run on the schema that revision makes.
 */
export function testMigrationsFolder(ownFolder: string): string {
  return loadConfig(testVars).TEST_MIGRATIONS_DIR ?? ownFolder
}

/**
 * A database of the caller's own, migrated by the real runner with a service's migrations. The
 * runner is passed in rather than imported: @stack/migrate's own tests use this package, and a
 * dependency back on it would be a cycle in the package graph.
 */
export async function migratedDatabase(
  migrationsFolder: string,
  runMigrations: MigrationRunner,
  options: { adminUrl?: string } = {},
): Promise<TestDatabase> {
  const database = await createTestDatabase(options.adminUrl)
  try {
    // Bounds for a hang on a loaded machine, not speed limits.
    await runMigrations({
      url: database.url,
      migrationsFolder: testMigrationsFolder(migrationsFolder),
      waitTimeoutMs: 30_000,
      lockTimeoutMs: 30_000,
    })
  } catch (error) {
    await database.drop()
    throw error
  }
  return database
}
