import { parseArgs } from 'node:util'
import { loadDevKey, NoDevKeyError, signDevToken } from './dev-key.js'
import { parseTtl } from './ttl.js'

// The token command, written once for both places the development key lives: `pnpm run token` on the
// machine that runs `pnpm dev`, and dist/token.js in the dev-issuer image (`docker compose exec`).
// The token alone goes to stdout, so `$(...)` gives just the token. Exit 2: bad arguments; exit 1: no
// key yet, or an unreadable one.

export interface TokenCliOptions {
  args: string[]
  /** The `iss`: where the services that should accept the token find the key. */
  issuer: string
  /** The directory holding key.json. */
  keyDir: string
  /** The usage line's command, e.g. `pnpm run token`. */
  command: string
  /** Told with the missing key: what makes one (`run pnpm dev once`). */
  noKeyHint: string
}

export interface TokenCliResult {
  code: 0 | 1 | 2
  stdout: string
  stderr: string
}

export async function tokenCli(options: TokenCliOptions): Promise<TokenCliResult> {
  const usage = `usage: ${options.command} [--sub SUB] [--scope "SCOPE ..."] [--ttl 1h] [--aud AUDIENCE]`
  const fail = (code: 1 | 2, message: string): TokenCliResult => ({
    code,
    stdout: '',
    stderr: `token: ${message}\n`,
  })
  let values: { sub: string; scope: string; ttl: string; aud: string }
  try {
    // pnpm before 12 passes the `--` of `pnpm run token -- --sub x` on.
    const args = options.args[0] === '--' ? options.args.slice(1) : options.args
    ;({ values } = parseArgs({
      args,
      options: {
        sub: { type: 'string', default: 'dev-user' },
        scope: { type: 'string', default: 'notes:read notes:write' },
        ttl: { type: 'string', default: '1h' },
        aud: { type: 'string', default: 'api' },
      },
      strict: true,
      allowPositionals: false,
    }))
  } catch (error) {
    return fail(2, `${(error as Error).message} (${usage})`)
  }
  if (values.sub.trim() === '') return fail(2, '--sub must not be empty')
  if (values.aud.trim() === '') return fail(2, '--aud must not be empty')
  const ttlSeconds = parseTtl(values.ttl)
  if (ttlSeconds === undefined)
    return fail(2, `--ttl "${values.ttl}": expected a duration such as 90s, 15m, 1h or 7d`)
  try {
    const key = await loadDevKey(options.keyDir)
    const token = await signDevToken(key, {
      issuer: options.issuer,
      audience: values.aud,
      subject: values.sub,
      scope: values.scope.split(/\s+/).filter(Boolean).join(' '),
      ttlSeconds,
    })
    return { code: 0, stdout: `${token}\n`, stderr: '' }
  } catch (error) {
    if (error instanceof NoDevKeyError) return fail(1, `${error.message}: ${options.noKeyHint}`)
    return fail(1, (error as Error).message)
  }
}
