import { describe, expect, it } from 'vitest'
import { authVars, ConfigError, loadConfig } from '../src/index.js'

function issues(env: Record<string, string>): Record<string, string> {
  try {
    loadConfig(authVars, env)
  } catch (err) {
    if (err instanceof ConfigError) return Object.fromEntries(err.issues.map((i) => [i.variable, i.reason]))
    throw err
  }
  throw new Error('expected loadConfig to throw')
}

describe('authVars', () => {
  it('are all optional: unset, verification is off', () => {
    const config = loadConfig(authVars, {})
    expect(config.AUTH_ISSUER).toBeUndefined()
    expect(config.AUTH_AUDIENCE).toBeUndefined()
    expect(config.AUTH_CLOCK_TOLERANCE_S).toBe(30)
  })

  it('need AUTH_AUDIENCE once AUTH_ISSUER is set, and say so by name', () => {
    expect(issues({ AUTH_ISSUER: 'https://login.example.com' })).toEqual({
      AUTH_AUDIENCE: 'is required when AUTH_ISSUER is set',
    })
    const config = loadConfig(authVars, { AUTH_ISSUER: 'https://login.example.com', AUTH_AUDIENCE: 'api' })
    expect(config.AUTH_AUDIENCE).toBe('api')
  })

  it('name a bad issuer or key-set URL without echoing it', () => {
    const byName = issues({
      AUTH_ISSUER: 'login.example.com',
      AUTH_AUDIENCE: 'api',
      AUTH_JWKS_URL: 'ftp://x/y',
    })
    expect(Object.keys(byName).sort()).toEqual(['AUTH_ISSUER', 'AUTH_JWKS_URL'])
    expect(byName.AUTH_ISSUER).toMatch(/https:\/\/ or http:\/\//)
    expect(JSON.stringify(byName)).not.toContain('login.example.com')
  })

  it('do not ask for AUTH_AUDIENCE twice when AUTH_ISSUER itself is bad', () => {
    expect(issues({ AUTH_ISSUER: 'nope' })).toEqual({
      AUTH_ISSUER: expect.stringMatching(/must be a URL/),
      AUTH_AUDIENCE: 'is required when AUTH_ISSUER is set',
    })
  })
})
