import type { TestProject } from 'vitest/node'
import { startPostgres } from './postgres-server.js'

/** Vitest globalSetup: one PostgreSQL server per test run, shared by every file through its own database. */
export default async function setup(project: TestProject) {
  const started = Date.now()
  const server = await startPostgres()
  console.info(`[postgres] ${server.backend} server ready in ${Date.now() - started} ms`)
  project.provide('pgAdminUrl', server.url)
  project.provide('pgBackend', server.backend)
  return () => server.destroy()
}
