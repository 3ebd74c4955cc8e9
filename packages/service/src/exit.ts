/** Exit codes of every service process: part of its contract with compose, Kubernetes and CI. */
export const EXIT = {
  OK: 0,
  /** A failed start, a shutdown past SHUTDOWN_TIMEOUT_MS, a second signal, an uncaught error. */
  FAILURE: 1,
  /** The configuration is invalid: restarting will not help. */
  CONFIG: 2,
} as const
