import { fileURLToPath } from 'node:url'
import { NO_SHEDDING, type ServerProcess, spawnServer, waitForStatus } from '@stack/testing'

export const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url))
/** What images run: the esbuild bundle of dist/server.js (stack-bundle). */
export const BUNDLE = fileURLToPath(new URL('../dist/server.bundle.js', import.meta.url))

/**
 * The built server (`node dist/server.js`) as a real process, once it has logged `waitFor`
 * ("listening"; '' for not waiting). Shedding is off unless `env` turns it on: these tests are not
 * about it (pressure.test.ts is).
 */
export async function startServer(
  env: Record<string, string>,
  options: { waitFor?: string; wrapper?: string[]; entry?: string; cwd?: string } = {},
): Promise<ServerProcess> {
  const server = await spawnServer({
    entry: options.entry ?? SERVER,
    env: { ...NO_SHEDDING, ...env },
    ...(options.wrapper ? { wrapper: options.wrapper } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  })
  if (options.waitFor !== '') await server.waitForLine(options.waitFor ?? 'listening')
  return server
}

/** Waits until /v1 answers 200: the database is reachable and nothing sheds. */
export async function untilServing(url: string): Promise<void> {
  await waitForStatus(`${url}/v1/notes?limit=1`, 200)
}

export { type Response, request } from '@stack/testing'
