import { oneOf, str, Type, url } from '@stack/config'

/** The harness's own variables, read through @stack/config's loadConfig like every other. */
export const testVars = {
  /** Use this server instead of starting one (each test file still gets its own database). */
  TEST_DATABASE_URL: Type.Optional(url({ protocols: ['postgres', 'postgresql'] })),
  /** Which PostgreSQL the test harness uses; `auto` picks url, then container, then embedded. */
  TEST_PG_BACKEND: oneOf(['auto', 'url', 'container', 'embedded'], { default: 'auto' }),
  TEST_PG_IMAGE: str({ default: 'postgres:18' }),
  /**
   * Migrate test databases with this folder instead of the service's own: `pnpm check:compat` runs an
   * older revision's tests on the schema of a newer one's migrations (see tooling/compat).
   */
  TEST_MIGRATIONS_DIR: Type.Optional(str()),
}

/**
 * Event-loop shedding off (0 turns each of under-pressure's checks off), for a test whose subject is
 * not shedding: on a loaded machine a start or a burst of work can block the loop for a whole sample
 * window, which reads as overload, and the first requests would get 503 SVC_OVERLOADED.
 */
export const NO_SHEDDING = {
  PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0',
  PRESSURE_MAX_EVENT_LOOP_UTILIZATION: '0',
} as const
