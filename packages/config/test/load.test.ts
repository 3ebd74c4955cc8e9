import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, databaseVars, loadConfig, serverVars, tracingVars } from '../src/index.js'

const vars = { ...serverVars, ...databaseVars }
const good = { DATABASE_URL: 'postgres://app:secret@db:5432/app' }

function failure(env: Record<string, string>): ConfigError {
  try {
    loadConfig(vars, env)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  throw new Error('expected loadConfig to throw')
}

describe('loadConfig', () => {
  it('applies defaults, converts types and freezes the result', () => {
    const config = loadConfig(vars, { ...good, PORT: '8080', LOG_LEVEL: 'debug' })
    expect(config.PORT).toBe(8080)
    expect(config.HOST).toBe('0.0.0.0')
    expect(config.LOG_LEVEL).toBe('debug')
    expect(config.DATABASE_POOL_MAX).toBe(10)
    expect(Object.isFrozen(config)).toBe(true)
    expect(() => {
      ;(config as { PORT: number }).PORT = 1
    }).toThrow(TypeError)
  })

  it('names every bad variable and why in one error', () => {
    const err = failure({
      PORT: '99999',
      LOG_LEVEL: 'loud',
      DATABASE_POOL_MAX: 'ten',
      SHUTDOWN_DELAY_MS: '-5',
    })
    const byName = Object.fromEntries(err.issues.map((i) => [i.variable, i.reason]))
    expect(Object.keys(byName).sort()).toEqual(
      ['DATABASE_POOL_MAX', 'DATABASE_URL', 'LOG_LEVEL', 'PORT', 'SHUTDOWN_DELAY_MS'].sort(),
    )
    expect(byName.DATABASE_URL).toBe('is required but not set')
    expect(byName.PORT).toMatch(/must be a port number \(1-65535\)/)
    expect(byName.LOG_LEVEL).toMatch(/must be one of fatal, error, warn, info/)
    expect(byName.DATABASE_POOL_MAX).toMatch(/must be an integer from 1 to 1000/)
    expect(byName.SHUTDOWN_DELAY_MS).toMatch(/must be an integer from 0/)
    expect(err.message).toMatch(/^invalid configuration: /)
    for (const name of Object.keys(byName)) expect(err.message).toContain(name)
  })

  it('rejects a URL that is not a PostgreSQL URL without echoing it', () => {
    for (const bad of ['not a url', 'http://db/app', 'db:5432']) {
      const err = failure({ DATABASE_URL: bad })
      expect(err.issues).toEqual([
        { variable: 'DATABASE_URL', reason: expect.stringMatching(/postgres:\/\//) },
      ])
      expect(err.message).not.toContain(bad)
    }
  })

  it('never echoes a value, whatever the variable (headers hold API keys; any value can come from a secret file)', () => {
    const secret = 'k3y-0f-the-vendor'
    const cases: Record<string, string> = {
      OTEL_EXPORTER_OTLP_HEADERS: `x-api-key=${secret},,`,
      OTEL_EXPORTER_OTLP_ENDPOINT: `ftp://user:${secret}@collector`,
      OTEL_TRACES_SAMPLER_ARG: `${secret}`,
      PORT: `${secret}`,
      LOG_LEVEL: `${secret}`,
      TRUST_PROXY: `${secret}`,
    }
    for (const [name, value] of Object.entries(cases)) {
      let err: unknown
      try {
        loadConfig({ ...vars, ...tracingVars }, { ...good, [name]: value })
      } catch (e) {
        err = e
      }
      expect(err, name).toBeInstanceOf(ConfigError)
      expect(
        (err as ConfigError).issues.map((i) => i.variable),
        name,
      ).toEqual([name])
      expect((err as ConfigError).message, name).not.toContain(secret)
      expect(JSON.stringify((err as ConfigError).issues), name).not.toContain(secret)
    }
  })

  it('treats an empty string as unset', () => {
    expect(loadConfig(vars, { ...good, PORT: '' }).PORT).toBe(3000)
    expect(failure({ DATABASE_URL: '  ' }).issues[0]?.variable).toBe('DATABASE_URL')
  })

  describe('_FILE variables', () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-test-'))

    it('reads and trims the file', () => {
      const file = join(dir, 'url')
      writeFileSync(file, `${good.DATABASE_URL}\n`)
      expect(loadConfig(vars, { DATABASE_URL_FILE: file }).DATABASE_URL).toBe(good.DATABASE_URL)
    })

    it('names an unreadable file', () => {
      const err = failure({ DATABASE_URL_FILE: join(dir, 'missing') })
      expect(err.issues).toEqual([{ variable: 'DATABASE_URL_FILE', reason: expect.stringMatching(/ENOENT/) }])
    })

    it('names an empty file', () => {
      const file = join(dir, 'empty')
      writeFileSync(file, '\n')
      expect(failure({ DATABASE_URL_FILE: file }).issues[0]?.reason).toMatch(/empty file/)
    })

    it('refuses both the variable and its file', () => {
      const file = join(dir, 'url2')
      writeFileSync(file, good.DATABASE_URL)
      const err = failure({ ...good, DATABASE_URL_FILE: file })
      expect(err.issues[0]).toEqual({
        variable: 'DATABASE_URL_FILE',
        reason: expect.stringMatching(/together/),
      })
    })

    it('validates the value read from the file', () => {
      const file = join(dir, 'port')
      writeFileSync(file, '0')
      expect(failure({ ...good, PORT_FILE: file }).issues[0]?.variable).toBe('PORT')
    })
  })
})
