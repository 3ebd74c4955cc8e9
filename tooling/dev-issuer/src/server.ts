import { resolve } from 'node:path'
import { loadConfig } from '@stack/config'
import { loadOrCreateDevKey } from './dev-key.js'
import { startDevIssuer } from './issuer.js'
import { issuerServerVars } from './vars.js'

// The dev-issuer of `docker compose up` (compose.yaml) and of the Kubernetes dev overlay
// (deploy/k8s/dev-issuer): the development issuer of `pnpm dev`, in a container, so the stack
// verifies tokens out of the box. Never part of production (compose.prod.yaml and the prod overlay
// leave it out; the services there refuse any issuer but a real provider's). A token: dist/token.js.
// Exit 2: a bad variable; exit 1: cannot start; exit 0 on SIGTERM.

// One JSON line per event, in the services' shape (@stack/service's logger: level label, ISO time,
// service), so the log pipeline reads it like theirs.
const log = (level: 'info' | 'error', msg: string, extra: Record<string, unknown> = {}) =>
  process.stdout.write(
    `${JSON.stringify({ level, time: new Date().toISOString(), service: 'dev-issuer', msg, ...extra })}\n`,
  )

let config: ReturnType<typeof loadConfig<typeof issuerServerVars>>
try {
  config = loadConfig(issuerServerVars)
} catch (error) {
  log('error', (error as Error).message)
  process.exit(2)
}

try {
  const keyDir = resolve(config.DEV_ISSUER_DIR)
  const { key, created } = await loadOrCreateDevKey(keyDir)
  const issuer = await startDevIssuer({
    key,
    issuer: config.DEV_ISSUER_URL,
    host: config.HOST,
    port: config.PORT,
  })
  log('info', 'development issuer listening', {
    issuer: issuer.issuer,
    kid: key.kid,
    key: `${created ? 'created in' : 'from'} ${keyDir}`,
    address: `${config.HOST}:${issuer.port}`,
  })
  const stop = () => {
    void issuer.close().then(() => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
} catch (error) {
  log('error', `development issuer cannot start: ${(error as Error).message}`)
  process.exit(1)
}
