import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { loadConfig } from '@stack/config'
import { loadDevKey, NoDevKeyError, signDevToken } from './dev-key.ts'
import { parseTtl } from './ttl.ts'
import { issuerVars } from './vars.ts'

// `pnpm run token [--sub SUB] [--scope "notes:read notes:write"] [--ttl 1h] [--aud api]`: a token
// the development issuer of `pnpm dev` stands behind, on stdout and nothing else, so that
// `curl -H "Authorization: Bearer $(pnpm --silent run token)"` works (`--silent`: with `-s`, pnpm
// 12.21 still echoes the command on stderr). Exit 2: bad arguments; exit 1: no key yet. `run` is
// needed: a bare `pnpm token` is pnpm's own command for registry tokens.

const USAGE = 'usage: pnpm run token [--sub SUB] [--scope "SCOPE ..."] [--ttl 1h] [--aud AUDIENCE]'
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

function fail(code: number, message: string): never {
  process.stderr.write(`token: ${message}\n`)
  process.exit(code)
}

let options: { sub: string; scope: string; ttl: string; aud: string }
let config: ReturnType<typeof loadConfig<typeof issuerVars>>
try {
  // pnpm before 12 passes the `--` of `pnpm run token -- --sub x` on.
  const args = process.argv.slice(2)
  const { values } = parseArgs({
    args: args[0] === '--' ? args.slice(1) : args,
    options: {
      sub: { type: 'string', default: 'dev-user' },
      scope: { type: 'string', default: 'notes:read notes:write' },
      ttl: { type: 'string', default: '1h' },
      aud: { type: 'string', default: 'api' },
    },
    strict: true,
    allowPositionals: false,
  })
  options = values
  config = loadConfig(issuerVars)
} catch (error) {
  fail(2, `${(error as Error).message} (${USAGE})`)
}
if (options.sub.trim() === '') fail(2, '--sub must not be empty')
if (options.aud.trim() === '') fail(2, '--aud must not be empty')
const ttlSeconds = parseTtl(options.ttl)
if (ttlSeconds === undefined)
  fail(2, `--ttl "${options.ttl}": expected a duration such as 90s, 15m, 1h or 7d`)
const scope = options.scope.split(/\s+/).filter(Boolean).join(' ')

try {
  const key = await loadDevKey(resolve(root, config.DEV_ISSUER_DIR))
  const token = await signDevToken(key, {
    issuer: `http://127.0.0.1:${config.DEV_ISSUER_PORT}`,
    audience: options.aud,
    subject: options.sub,
    scope,
    ttlSeconds,
  })
  process.stdout.write(`${token}\n`)
} catch (error) {
  if (error instanceof NoDevKeyError) fail(1, `${error.message}: run pnpm dev once`)
  fail(1, (error as Error).message)
}
