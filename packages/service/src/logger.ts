import { type DestinationStream, destination, type LoggerOptions, stdTimeFunctions } from 'pino'

export interface LoggerSettings {
  level: string
  service: string
  version: string
}

/**
 * pino options for every service: JSON on stdout, `info` by default, ISO time, level names, and
 * credentials redacted wherever they appear in a logged object.
 */
export function loggerOptions(settings: LoggerSettings): LoggerOptions {
  return {
    level: settings.level,
    base: { service: settings.service, version: settings.version },
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["proxy-authorization"]',
        'req.headers["x-api-key"]',
        'res.headers["set-cookie"]',
        '*.password',
        '*.DATABASE_URL',
        '*.connectionString',
      ],
      censor: '[redacted]',
    },
  }
}

/** How often a buffered log is written out even when the buffer is not full. */
const LOG_FLUSH_INTERVAL_MS = 250

/**
 * stdout for pino. With `bufferBytes` > 0 lines are collected and written in chunks of that size,
 * asynchronously, at least every LOG_FLUSH_INTERVAL_MS, and synchronously when the process exits
 * (pino's exit hook); a line costs a copy instead of a write(2) on the event loop, a large share
 * of a database read's CPU (docs/performance.md, "Figures behind code comments"). What is lost: at most the last
 * 250 ms or `bufferBytes` of lines when the process is killed with SIGKILL (the OOM killer). 0
 * writes every line at once.
 */
export function logDestination(bufferBytes: number): DestinationStream {
  if (bufferBytes <= 0) return destination({ dest: 1, sync: true })
  const stream = destination({ dest: 1, sync: false, minLength: bufferBytes })
  setInterval(() => {
    try {
      stream.flush()
    } catch {
      // Destroyed (stdout closed): nothing left to write to.
    }
  }, LOG_FLUSH_INTERVAL_MS).unref()
  return stream
}
