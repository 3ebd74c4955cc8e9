import { resolve } from 'node:path'
import { loadConfig } from '@stack/config'
import { tokenCli } from './token-cli.js'
import { issuerServerVars } from './vars.js'

// `node dist/token.js [--sub SUB] [--scope "..."] [--ttl 1h] [--aud api]` in the dev-issuer container
// (`docker compose exec -T dev-issuer …`; in the Kubernetes dev overlay `kubectl exec deploy/dev-issuer
// -- …`) prints a token its key signed, for the issuer the stack's services trust. Exit codes as
// `pnpm run token`'s.

let config: ReturnType<typeof loadConfig<typeof issuerServerVars>>
try {
  config = loadConfig(issuerServerVars)
} catch (error) {
  process.stderr.write(`token: ${(error as Error).message}\n`)
  process.exit(2)
}
const result = await tokenCli({
  args: process.argv.slice(2),
  issuer: config.DEV_ISSUER_URL,
  keyDir: resolve(config.DEV_ISSUER_DIR),
  command: 'node dist/token.js (in the dev-issuer container)',
  noKeyHint: 'the dev-issuer service has not started yet',
})
process.stdout.write(result.stdout)
process.stderr.write(result.stderr)
process.exitCode = result.code
