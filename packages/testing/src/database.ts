import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { inject } from 'vitest'

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string
    pgBackend: string
  }
}

export interface TestDatabase {
  /** URL of a fresh, empty database that only this test file uses. */
  url: string
  drop(): Promise<void>
}

/** Creates an empty database on the suite's server (see global-setup), so test files run in parallel. */
export async function createTestDatabase(adminUrl: string = inject('pgAdminUrl')): Promise<TestDatabase> {
  const name = `test_${randomBytes(6).toString('hex')}`
  await admin(adminUrl, `create database ${name}`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: () => admin(adminUrl, `drop database if exists ${name} with (force)`),
  }
}

async function admin(adminUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}
