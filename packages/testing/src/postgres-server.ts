import { loadConfig, testVars } from '@stack/config'
import { PostgreSqlContainer } from '@testcontainers/postgresql'
import { getContainerRuntimeClient } from 'testcontainers'
import { startEmbedded } from './embedded-server.js'
import { freePort } from './free-port.js'

export type Backend = 'url' | 'container' | 'embedded'

/** A PostgreSQL server for tests. `stop()`/`start()` take it down and up on the same port. */
export interface PostgresServer {
  backend: Backend
  /** Superuser URL of the `postgres` database. */
  url: string
  stop(): Promise<void>
  start(): Promise<void>
  destroy(): Promise<void>
}

// Durability is pointless for throwaway test data; these make migrations and writes several times faster.
const FAST = [
  '-c',
  'fsync=off',
  '-c',
  'synchronous_commit=off',
  '-c',
  'full_page_writes=off',
  '-c',
  'max_connections=300',
]

/** TEST_DATABASE_URL if set, else a container when a Docker engine answers, else embedded PostgreSQL 18. */
export async function startPostgres(
  options: { backend?: Backend | 'auto'; external?: boolean } = {},
): Promise<PostgresServer> {
  const env = loadConfig(testVars)
  const wanted = options.backend ?? env.TEST_PG_BACKEND
  if ((wanted === 'auto' || wanted === 'url') && env.TEST_DATABASE_URL && !options.external) {
    return external(env.TEST_DATABASE_URL)
  }
  if (wanted === 'url') throw new Error('TEST_PG_BACKEND=url needs TEST_DATABASE_URL')
  if (wanted === 'container' || (wanted === 'auto' && (await dockerAnswers())))
    return container(env.TEST_PG_IMAGE)
  return embedded()
}

function external(url: string): PostgresServer {
  const refuse = async () => {
    throw new Error('cannot stop or start the server at TEST_DATABASE_URL')
  }
  return { backend: 'url', url, stop: refuse, start: refuse, destroy: async () => {} }
}

async function dockerAnswers(): Promise<boolean> {
  try {
    await getContainerRuntimeClient()
    return true
  } catch {
    return false
  }
}

/**
 * The container's health check, run by Docker for as long as the container lives. The default one
 * (a shell running pg_isready every 250 ms, killed after 1 s) crashes the server on a loaded machine:
 * Docker kills the shell, pg_isready is orphaned to PID 1, the postmaster, and when it dies of the
 * broken pipe the postmaster takes it for a crashed backend ("untracked child process was terminated
 * by signal 13"), terminates every connection and recovers. pg_isready run directly (not through a
 * shell) is never orphaned, and a generous timeout means it is not killed either.
 */
export const HEALTH_CHECK = {
  test: ['CMD', 'pg_isready', '--host', 'localhost', '--username', 'postgres'] as ['CMD', ...string[]],
  interval: 1000,
  timeout: 120_000,
  retries: 300,
}

async function container(image: string): Promise<PostgresServer> {
  // A fixed host port, so that stop()/start() keep the URL.
  const port = await freePort()
  const started = await new PostgreSqlContainer(image)
    .withUsername('postgres')
    .withPassword('postgres')
    .withDatabase('postgres')
    .withExposedPorts({ container: 5432, host: port })
    .withCommand(['postgres', ...FAST])
    .withHealthCheck(HEALTH_CHECK)
    .withStartupTimeout(300_000)
    .start()
  const client = await getContainerRuntimeClient()
  const handle = client.container.getById(started.getId())
  const url = `postgres://postgres:postgres@${started.getHost()}:${port}/postgres`
  return {
    backend: 'container',
    url,
    // testcontainers takes milliseconds here; 0 would SIGKILL the server (no shutdown checkpoint).
    stop: () => client.container.stop(handle, { timeout: 10_000 }),
    start: async () => {
      await client.container.start(handle)
      await waitForServer(url)
    },
    destroy: async () => {
      await started.stop()
    },
  }
}

async function embedded(): Promise<PostgresServer> {
  const server = await startEmbedded({ port: await freePort(), flags: FAST })
  return { backend: 'embedded', ...server }
}

// A bound for a hang: a container restarting on a loaded machine can take a while.
async function waitForServer(url: string, timeoutMs = 120_000): Promise<void> {
  const { default: pg } = await import('pg')
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 })
    try {
      await client.connect()
      await client.query('select 1')
      return
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 100))
    } finally {
      await client.end().catch(() => {})
    }
  }
}
