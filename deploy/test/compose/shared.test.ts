import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { copyRepository, removeRepository } from '@stack/testing/repository'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newService } from '../new-service.js'
import {
  type Compose,
  devFiles,
  dockerAvailable,
  loadPlain,
  loadWithDocker,
  prodEnv,
  prodFiles,
  repoRoot,
} from './model.js'

// "A value that is the same for every service is written once": in a copy of the repository where
// the copy's generator made two more services (`pnpm new-service shared-probe-db --with-db` and
// `pnpm new-service shared-probe`: names no app uses, a `-` in each), a drain delay and a grace
// period changed in deploy/compose/node-service.yaml reach all of them and the API, as both loaders
// (the plain one everywhere, `docker compose config` where the Docker CLI is) read them.

const shared = 'deploy/compose/node-service.yaml'
const docker = dockerAvailable()
const WITH_DB = 'shared-probe-db'
const WITHOUT_DB = 'shared-probe'

let root = ''
beforeAll(() => {
  root = copyRepository(repoRoot, { prefix: 'compose-shared-' })
  newService(root, WITH_DB, { withDb: true })
  newService(root, WITHOUT_DB, { withDb: false })
})
afterAll(() => removeRepository(root))

type Loader = (files: string[], env?: Record<string, string>) => Compose
const plain: Loader = (files, env) => loadPlain(files, env, root)
const withDocker: Loader = (files, env) => loadWithDocker(files, env, root)
const loaders: [string, Loader][] = [
  ['plain YAML', plain],
  ...(docker ? [['docker compose config', withDocker] as [string, Loader]] : []),
]

const NODE_SERVICES = ['api', WITH_DB, WITHOUT_DB]

describe.each(loaders)('%s', (_label, load) => {
  it('the copy runs the API and both rendered services, each with the shared definition', () => {
    const compose = load(devFiles)
    for (const name of NODE_SERVICES) {
      const s = compose.services[name]
      expect(s?.environment.SHUTDOWN_DELAY_MS, name).toBe('5000')
      expect(s?.stopGracePeriodMs, name).toBe(20_000)
      // The label keys carry the service's own name (from its compose.env).
      expect(s?.labels[`traefik.http.services.${name}.loadbalancer.healthcheck.interval`], name).toBe('1s')
      expect(s?.labels[`traefik.http.routers.${name}.rule`], name).toBe(`Host(\`${name}.localhost\`)`)
    }
    // With a database: its createdb and migrator, its own secret; without: none, and not on backend.
    expect(compose.services[`migrate-${WITH_DB}`]?.secrets).toEqual([`${WITH_DB}-database-url`])
    expect(compose.services[`createdb-${WITH_DB}`]?.dependsOn).toEqual({ postgres: 'service_healthy' })
    // Every service starts after the development issuer its tokens come from (not required: production has none).
    expect(compose.services[WITH_DB]?.dependsOn).toEqual({
      'dev-issuer': 'service_healthy',
      postgres: 'service_healthy',
      [`migrate-${WITH_DB}`]: 'service_completed_successfully',
    })
    expect(compose.services[WITH_DB]?.environment.DATABASE_APPLICATION_NAME).toBe(`stack-${WITH_DB}`)
    const plain = compose.services[WITHOUT_DB]
    expect(plain?.secrets).toEqual([])
    expect(plain?.dependsOn).toEqual({ 'dev-issuer': 'service_healthy' })
    expect(Object.keys(compose.services).filter((n) => n.endsWith(`-${WITHOUT_DB}`))).toEqual([])
    expect(plain?.environment.DATABASE_URL_FILE).toBeUndefined()
  })

  it('a shared value changed in deploy/compose/node-service.yaml reaches every service', () => {
    const before = readFileSync(join(root, shared), 'utf8')
    const after = before
      .replace('SHUTDOWN_DELAY_MS: "5000"', 'SHUTDOWN_DELAY_MS: "4000"')
      .replace('stop_grace_period: 20s', 'stop_grace_period: 27s')
    expect(after).not.toBe(before)
    writeFileSync(join(root, shared), after)
    try {
      for (const [files, env] of [
        [devFiles, {}],
        [prodFiles, { ...prodEnv, SECRETS_DIR: join(root, 'deploy/compose/secrets') }],
      ] as const) {
        const compose = load([...files], env)
        for (const name of NODE_SERVICES) {
          expect(compose.services[name]?.environment.SHUTDOWN_DELAY_MS, name).toBe('4000')
          expect(compose.services[name]?.stopGracePeriodMs, name).toBe(27_000)
        }
      }
    } finally {
      writeFileSync(join(root, shared), before)
    }
  })
})

it.runIf(docker)(
  'the plain loader reads the copy, with its include, extends and env_file, as docker compose does',
  () => {
    expect(loadPlain(devFiles, {}, root)).toEqual({
      ...loadWithDocker(devFiles, {}, root),
      source: expect.any(String),
    })
    const env = { ...prodEnv, SECRETS_DIR: join(root, 'deploy/compose/secrets') }
    expect(loadPlain(prodFiles, env, root).services).toEqual(loadWithDocker(prodFiles, env, root).services)
  },
)
