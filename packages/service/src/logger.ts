import { type LoggerOptions, stdTimeFunctions } from 'pino'

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
