import { loadConfig } from '@stack/config'
import { PostgreSqlContainer } from '@testcontainers/postgresql'
import { type GenericContainer, getContainerRuntimeClient, Wait } from 'testcontainers'
import { startEmbedded } from './embedded-server.js'
import { freePort } from './free-port.js'
import { testVars } from './vars.js'
import { waitForQuery } from './wait-for-query.js'

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

// Docker's own spelling of "no health check"; testcontainers' type knows only CMD and CMD-SHELL.
const NO_HEALTH_CHECK = { test: ['NONE'] } as unknown as Parameters<GenericContainer['withHealthCheck']>[0]
// As testcontainers' PostgreSqlContainer allows: a loaded machine took 51 s here.
const STARTUP_TIMEOUT_MS = 120_000

async function container(image: string): Promise<PostgresServer> {
  // A fixed host port, so that stop()/start() keep the URL.
  const port = await freePort()
  const started = await new PostgreSqlContainer(image)
    .withUsername('postgres')
    .withPassword('postgres')
    .withDatabase('postgres')
    .withExposedPorts({ container: 5432, host: port })
    .withCommand(['postgres', ...FAST])
    // No Docker health check: testcontainers' default runs `sh -c pg_isready` every 250 ms for the
    // container's whole life, with a 1 s timeout. On a loaded machine checks time out, Docker kills
    // the shell, and its pg_isready is left to PID 1, the postmaster, which takes a child it did
    // not start dying of SIGPIPE for a crashed backend and restarts every connection ("untracked
    // child process ... was terminated by signal 13"): the soak's DB_UNAVAILABLE 503s, and notes
    // lost under synchronous_commit=off. Readiness is waited for below, from outside.
    .withHealthCheck(NO_HEALTH_CHECK)
    .withWaitStrategy(Wait.forListeningPorts())
    .start()
  const client = await getContainerRuntimeClient()
  const handle = client.container.getById(started.getId())
  const url = `postgres://postgres:postgres@${started.getHost()}:${port}/postgres`
  await waitForQuery(url, STARTUP_TIMEOUT_MS)
  return {
    backend: 'container',
    url,
    // testcontainers takes milliseconds here; 0 would SIGKILL the server (no shutdown checkpoint).
    stop: () => client.container.stop(handle, { timeout: 10_000 }),
    start: async () => {
      await client.container.start(handle)
      await waitForQuery(url, STARTUP_TIMEOUT_MS)
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
