import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig } from '@stack/config'
import { tokenCli } from '@stack/dev-issuer'
import { issuerVars } from './vars.ts'

// `pnpm run token [--sub SUB] [--scope "notes:read notes:write"] [--ttl 1h] [--aud api]`: a token
// the development issuer of `pnpm dev` stands behind, on stdout and nothing else, so that
// `curl -H "Authorization: Bearer $(pnpm --silent run token)"` works (`--silent`: with `-s`, pnpm
// 12.21 still echoes the command on stderr). Exit 2: bad arguments; exit 1: no key yet. `run` is
// needed: a bare `pnpm token` is pnpm's own command for registry tokens. The compose stack's issuer
// has a key of its own: `docker compose exec -T dev-issuer node dist/token.js`.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

let config: ReturnType<typeof loadConfig<typeof issuerVars>>
try {
  config = loadConfig(issuerVars)
} catch (error) {
  process.stderr.write(`token: ${(error as Error).message}\n`)
  process.exit(2)
}
const result = await tokenCli({
  args: process.argv.slice(2),
  issuer: `http://127.0.0.1:${config.DEV_ISSUER_PORT}`,
  keyDir: resolve(root, config.DEV_ISSUER_DIR),
  command: 'pnpm run token',
  noKeyHint: 'run pnpm dev once',
})
process.stdout.write(result.stdout)
process.stderr.write(result.stderr)
process.exitCode = result.code
