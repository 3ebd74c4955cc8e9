// Writes the API's OpenAPI document, as GET /openapi.json serves it, to the file named by the first
// argument (`pnpm lint:openapi` lints that file). The app is built but never listens, and needs no
// database: the pool connects lazily and the start-up ping's failure is only logged.
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { buildApp } from '../src/app.js'
import { loadAppConfig } from '../src/config.js'

const [out] = process.argv.slice(2)
if (!out) {
  console.error('usage: openapi.ts <output file>')
  process.exit(2)
}

// Port 1 on loopback: nothing listens there, so nothing is ever reached by mistake.
const app = await buildApp(loadAppConfig({ DATABASE_URL: 'postgres://openapi@127.0.0.1:1/openapi' }))
try {
  await app.ready()
  const res = await app.inject({ method: 'GET', url: '/openapi.json' })
  if (res.statusCode !== 200) throw new Error(`GET /openapi.json answered ${res.statusCode}: ${res.body}`)
  const file = resolve(out)
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, `${JSON.stringify(res.json(), null, 2)}\n`)
} finally {
  await app.close()
}
