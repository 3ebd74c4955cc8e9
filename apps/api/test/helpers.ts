import { runMigrations } from '@stack/migrate'
import { migratedDatabase as migrated, type TestDatabase } from '@stack/testing'
import pg from 'pg'
import { buildApp } from '../src/app.js'
import { loadAppConfig } from '../src/config.js'
import { migrationsFolder } from '../src/db/migrations.js'

/** The API's config as the process would load it, from an explicit environment. */
export function testConfig(env: Record<string, string>) {
  return loadAppConfig({ LOG_LEVEL: 'silent', ...env })
}

/** A database of this test file's own, migrated by the real runner. */
export function migratedDatabase(): Promise<TestDatabase> {
  return migrated(migrationsFolder, runMigrations)
}

export async function testApp(env: Record<string, string>) {
  const app = await buildApp(testConfig(env))
  await app.ready()
  return app
}

/**
 * Holds a row lock on a note from a session of the test's own until `release()`: a PATCH of that
 * note then really is slow (it waits on the lock), with no test-only code in the app.
 */
export async function lockNote(databaseUrl: string, id: string) {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  await client.query('begin')
  await client.query('select id from notes where id = $1 for update', [id])
  return {
    async release() {
      await client.query('commit')
      await client.end()
    },
  }
}
