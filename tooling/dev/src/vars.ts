import { databaseVars, metricsVars, port, str, Type } from '@stack/config'

/** `pnpm dev`'s own variables, read through @stack/config's loadConfig like every other. */
export const devVars = {
  /** A database of your own instead of the embedded one under DEV_DATA_DIR. */
  DATABASE_URL: Type.Optional(databaseVars.DATABASE_URL),
  DEV_DATA_DIR: str({ default: '.data/postgres' }),
  DEV_DATABASE_PORT: port({ default: 54329 }),
  /**
   * Where the app and its metrics listen. Loopback unless you say otherwise: a dev server with a
   * database and no authentication does not belong on the LAN. (Containers keep 0.0.0.0.)
   */
  HOST: str({ default: '127.0.0.1' }),
  /** Read to know whether to wait for the metrics listener before printing the URLs. */
  METRICS_ENABLED: metricsVars.METRICS_ENABLED,
}
