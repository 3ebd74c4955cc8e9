import { authVars, databaseVars, metricsVars, port, str, Type } from '@stack/config'

/** Where the development issuer keeps its key and listens: `pnpm dev` and `pnpm run token` read both. */
export const issuerVars = {
  DEV_ISSUER_DIR: str({ default: '.data/dev-issuer' }),
  /** Fixed, not picked: it is in every token's `iss`, and tokens outlive a restart. */
  DEV_ISSUER_PORT: port({ default: 54330 }),
}

/** `pnpm dev`'s own variables, read through @stack/config's loadConfig like every other. */
export const devVars = {
  /** A database of your own instead of the embedded one under DEV_DATA_DIR. */
  DATABASE_URL: Type.Optional(databaseVars.DATABASE_URL),
  DEV_DATA_DIR: str({ default: '.data/postgres' }),
  DEV_DATABASE_PORT: port({ default: 54329 }),
  /**
   * A real provider instead of the development issuer (with AUTH_AUDIENCE, which the app itself
   * checks): `pnpm dev` then starts no issuer and passes both on.
   */
  AUTH_ISSUER: authVars.AUTH_ISSUER,
  ...issuerVars,
  /**
   * Where the app and its metrics listen. Loopback unless you say otherwise: a dev server with a
   * database does not belong on the LAN. (Containers keep 0.0.0.0.)
   */
  HOST: str({ default: '127.0.0.1' }),
  /** Read to know whether to wait for the metrics listener before printing the URLs. */
  METRICS_ENABLED: metricsVars.METRICS_ENABLED,
}
