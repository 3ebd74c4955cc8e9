import { Type } from 'typebox'
import { bool, int, num, oneOf, port, requiredWith, str, url } from './vars.js'

// Parts of the environment that services compose: `loadConfig({ ...serverVars, ...databaseVars })`.
// Defaults are the production values; `.env.example` documents each variable.

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

export const serverVars = {
  HOST: str({ default: '0.0.0.0' }),
  PORT: port({ default: 3000 }),
  LOG_LEVEL: oneOf([...LEVELS], { default: 'info' }),
  /** Log lines are written in chunks of this size, at least every 250 ms and at exit; 0 writes each at once. */
  LOG_BUFFER_BYTES: int({ default: 4096, maximum: 1_048_576 }),
  /** Time between SIGTERM and closing the listener, while readiness already says 503. */
  SHUTDOWN_DELAY_MS: int({ default: 5000, maximum: 600_000 }),
  /** Hard deadline for closing once the delay is over; past it the process exits 1. */
  SHUTDOWN_TIMEOUT_MS: int({ default: 10_000, minimum: 100, maximum: 600_000 }),
  /** Above the proxy's idle timeout for upstream connections (Traefik: 60 s here), so the proxy closes first. */
  KEEP_ALIVE_TIMEOUT_MS: int({ default: 65_000, minimum: 1000, maximum: 3_600_000 }),
  /** Headers and body must have arrived within it, or the request gets a 408 (checked every tenth, at most every second). */
  REQUEST_TIMEOUT_MS: int({ default: 30_000, minimum: 1000, maximum: 3_600_000 }),
  BODY_LIMIT_BYTES: int({ default: 1_048_576, minimum: 1024, maximum: 104_857_600 }),
  /** `false`, `true`, a hop count, or a comma-separated list of proxy addresses/CIDRs. */
  TRUST_PROXY: Type.String({
    default: 'false',
    pattern: '^(true|false|\\d+|[0-9a-fA-F.:/,\\s]+)$',
    'x-reason': 'must be true, false, a hop count or a comma-separated list of addresses/CIDRs',
  }),
  /** Comma-separated allow-list of origins; empty means CORS is off. */
  CORS_ORIGINS: Type.String({ default: '', 'x-reason': 'must be a comma-separated list of origins' }),
  SERVICE_VERSION: str({ default: 'dev' }),
}

export const pressureVars = {
  PRESSURE_MAX_EVENT_LOOP_DELAY_MS: int({ default: 1000 }),
  /** Over one sample interval (not since start); 0 turns the check off. */
  PRESSURE_MAX_EVENT_LOOP_UTILIZATION: num({ default: 0.98, maximum: 1 }),
  /** How long event-loop delay or utilisation must stay over its threshold before shedding; memory sheds at once. */
  PRESSURE_SUSTAIN_MS: int({ default: 5000, maximum: 600_000 }),
  /** 0 derives the limit from V8's old-generation limit. */
  PRESSURE_MAX_HEAP_USED_BYTES: int({ default: 0 }),
  /** 0 derives the limit from the container's memory limit, or turns the check off when there is none. */
  PRESSURE_MAX_RSS_BYTES: int({ default: 0 }),
  PRESSURE_RETRY_AFTER_S: int({ default: 10, minimum: 1, maximum: 3600 }),
  // Well above under-pressure's 10 ms histogram resolution: a window without a sample reads as an infinite delay.
  PRESSURE_SAMPLE_INTERVAL_MS: int({ default: 1000, minimum: 100, maximum: 60_000 }),
  /** Node's own variable, read (never set) for V8's heap sizes: the heap threshold is 90 % of the old space. */
  NODE_OPTIONS: str({ default: '', minLength: 0 }),
}

/** Prometheus metrics of @stack/service, on a port of their own that the proxy never routes to. */
export const metricsVars = {
  /** false: no registry, no per-request hook, no listener (what the throughput cost is measured against). */
  METRICS_ENABLED: bool({ default: true }),
  /** GET /metrics on HOST:METRICS_PORT, opened on listen and closed on shutdown. */
  METRICS_PORT: port({ default: 9464 }),
}

/**
 * OpenTelemetry traces, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set. The names are the SDK's standard
 * ones, but the SDK is never left to read them: they are validated here and passed to it explicitly.
 */
export const tracingVars = {
  /** Base URL of an OTLP/HTTP receiver (a collector); traces go to `<endpoint>/v1/traces`. */
  OTEL_EXPORTER_OTLP_ENDPOINT: Type.Optional(url({ protocols: ['http', 'https'] })),
  /** `key=value` pairs, comma-separated, sent with every export (a vendor's API key: use the _FILE form). */
  OTEL_EXPORTER_OTLP_HEADERS: Type.Optional(
    Type.String({
      pattern: '^[^=,\\s]+=[^,]*(,\\s*[^=,\\s]+=[^,]*)*$',
      'x-reason': 'must be comma-separated key=value pairs',
    }),
  ),
  /** Defaults to the service's own name. */
  OTEL_SERVICE_NAME: Type.Optional(str()),
  /** Share of new traces recorded; a request whose traceparent says "sampled" is always recorded. */
  OTEL_TRACES_SAMPLER_ARG: num({ default: 1, maximum: 1 }),
}

/**
 * Bearer-token verification (@stack/service plugins/auth.ts): tokens are JWTs an identity provider
 * signs, checked against the keys it publishes. Off while AUTH_ISSUER is unset (this release: the
 * service says so in one warning line at start).
 */
export const authVars = {
  /** The `iss` every token must carry, e.g. https://login.example.com/realms/main. */
  AUTH_ISSUER: Type.Optional(url({ protocols: ['https', 'http'] })),
  /** The `aud` a token must carry to be meant for this service; required with AUTH_ISSUER. */
  AUTH_AUDIENCE: requiredWith('AUTH_ISSUER', str()),
  /** The issuer's key set; unset, it is the `jwks_uri` of <AUTH_ISSUER>/.well-known/openid-configuration. */
  AUTH_JWKS_URL: Type.Optional(url({ protocols: ['https', 'http'] })),
  /** Leeway for `exp` and `nbf` against clocks that disagree a little. */
  AUTH_CLOCK_TOLERANCE_S: int({ default: 30, maximum: 300 }),
  /** A fetch of the discovery document or the key set that takes longer fails (the request gets a 503). */
  AUTH_KEYS_TIMEOUT_MS: int({ default: 2000, minimum: 100, maximum: 60_000 }),
  /** At most one key fetch per this interval, whatever the tokens' `kid`s say (bogus ones cannot hammer the issuer). */
  AUTH_KEYS_MIN_INTERVAL_MS: int({ default: 30_000, maximum: 3_600_000 }),
  /** Keys older than this are fetched again (and kept if the fetch fails). */
  AUTH_KEYS_MAX_AGE_MS: int({ default: 600_000, minimum: 1000, maximum: 86_400_000 }),
}

export const databaseVars = {
  DATABASE_URL: url({ protocols: ['postgres', 'postgresql'] }),
  DATABASE_POOL_MAX: int({ default: 10, minimum: 1, maximum: 1000 }),
  /** pg waits forever for a connection by default; a request must fail fast with 503 instead. */
  DATABASE_CONNECT_TIMEOUT_MS: int({ default: 2000, minimum: 100, maximum: 600_000 }),
  DATABASE_STATEMENT_TIMEOUT_MS: int({ default: 5000, minimum: 100, maximum: 3_600_000 }),
  DATABASE_IDLE_TIMEOUT_MS: int({ default: 10_000, minimum: 100, maximum: 3_600_000 }),
  DATABASE_PING_TIMEOUT_MS: int({ default: 1000, minimum: 50, maximum: 60_000 }),
  DATABASE_APPLICATION_NAME: Type.Optional(str()),
}

export const migrateVars = {
  DATABASE_URL: databaseVars.DATABASE_URL,
  DATABASE_APPLICATION_NAME: databaseVars.DATABASE_APPLICATION_NAME,
  /** How long `migrate up` retries an unreachable database before giving up. */
  MIGRATE_WAIT_TIMEOUT_MS: int({ default: 30_000, maximum: 3_600_000 }),
  /** How long `migrate up` waits for another runner's lock. */
  MIGRATE_LOCK_TIMEOUT_MS: int({ default: 60_000, minimum: 100, maximum: 3_600_000 }),
  /**
   * lock_timeout of every migration statement: a statement that waits longer for a table's lock gives
   * up, so that the queries queued behind it (every new read of that table) are not stalled for
   * longer than this. A few seconds: strong_migrations says 10 s, squawk 1 s, pgroll 500 ms.
   */
  MIGRATE_STATEMENT_LOCK_TIMEOUT_MS: int({ default: 3000, minimum: 10, maximum: 600_000 }),
  /** statement_timeout of every migration statement: generous, a backfill or index build may be long. */
  MIGRATE_STATEMENT_TIMEOUT_MS: int({ default: 3_600_000, minimum: 100, maximum: 86_400_000 }),
  /** How many times a migration that hit its lock timeout is rolled back and retried before exit 1. */
  MIGRATE_LOCK_RETRIES: int({ default: 5, minimum: 0, maximum: 100 }),
  /** Folder of drizzle-kit migrations; defaults to ./drizzle of the working directory (the service's package root). */
  MIGRATIONS_DIR: Type.Optional(str()),
}
