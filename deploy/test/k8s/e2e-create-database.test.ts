import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment'
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { ISecret } from 'kubernetes-models/v1/Secret'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ofKind, renderOverlay } from './objects.js'

// The dev overlay's create-database init container (components/create-database), run as the
// kubelet would run it: the image, command, env, mount paths and user of the rendered manifest, a
// read-only root and no capabilities, the Secrets' rendered values as files, and `postgres`
// resolving to a PostgreSQL 18 server on a network of its own. Needs Docker and the postgres:18
// image, so it runs with the compose end-to-end suite (pnpm --filter @stack/deploy test:e2e).

const suffix = randomBytes(4).toString('hex')
const network = `k8s-createdb-${suffix}`
const server = `k8s-createdb-pg-${suffix}`

function docker(args: string[], timeout = 120_000): SpawnSyncReturns<string> {
  const result = spawnSync('docker', args, { encoding: 'utf8', timeout })
  if (result.error) throw result.error
  return result
}

function ok(result: SpawnSyncReturns<string>, what: string): string {
  if (result.status !== 0)
    throw new Error(`${what} exited ${result.status}: ${result.stderr}${result.stdout}`)
  return result.stdout
}

const objects = renderOverlay('dev')
const api = ofKind<IDeployment>(objects, 'Deployment').find((d) => d.metadata.name === 'api')
const pod = api?.spec?.template.spec
const init = pod?.initContainers?.find((c) => c.name === 'create-database') as IContainer
const secrets = ofKind<ISecret>(objects, 'Secret')

/** The bytes of `key` in the Secret a pod volume of the init container names. */
function secretValue(volumeName: string, key: string): string {
  const secretName = pod?.volumes?.find((v) => v.name === volumeName)?.secret?.secretName
  const secret = secrets.find((s) => s.metadata.name === secretName)
  const encoded = secret?.data?.[key]
  if (encoded !== undefined) return Buffer.from(encoded, 'base64').toString()
  const plain = secret?.stringData?.[key]
  if (plain === undefined) throw new Error(`Secret ${secretName} has no ${key}`)
  return plain
}

let dir = ''

/**
 * Runs the init container with `databaseUrl` in the service's Secret file (the rendered one when
 * undefined); resolves with its exit code and output.
 */
function runInit(databaseUrl?: string): Promise<{ code: number | null; output: string }> {
  const run = mkdtempSync(join(dir, 'pod-'))
  const mounts: string[] = []
  for (const mount of init.volumeMounts ?? []) {
    const volume = pod?.volumes?.find((v) => v.name === mount.name)
    const host = join(run, mount.name)
    mkdirSync(host)
    for (const item of volume?.secret?.items ?? []) {
      const value =
        mount.name === 'secrets' && item.key === 'database-url' && databaseUrl !== undefined
          ? databaseUrl
          : secretValue(mount.name, item.key)
      writeFileSync(join(host, item.path), value)
      // The kubelet writes them 0440 with the pod's fsGroup (1000); the container runs as 1000.
      chmodSync(join(host, item.path), 0o444)
    }
    mounts.push('-v', `${host}:${mount.mountPath}${mount.readOnly ? ':ro' : ''}`)
  }
  const security = pod?.securityContext
  const args = [
    'run',
    '--rm',
    '--network',
    network,
    '--user',
    `${security?.runAsUser}:${security?.runAsGroup}`,
    ...(init.securityContext?.readOnlyRootFilesystem ? ['--read-only'] : []),
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    ...(init.env ?? []).flatMap((e) => ['-e', `${e.name}=${e.value}`]),
    ...mounts,
    '--entrypoint',
    init.command?.[0] ?? 'sh',
    init.image ?? '',
    ...(init.command?.slice(1) ?? []),
  ]
  return new Promise((resolve) => {
    const child = spawn('docker', args)
    let output = ''
    child.stdout.on('data', (d) => {
      output += d
    })
    child.stderr.on('data', (d) => {
      output += d
    })
    child.on('close', (code) => resolve({ code, output }))
  })
}

function databases(): string[] {
  return ok(
    docker([
      'exec',
      server,
      'psql',
      '-U',
      'stack',
      '-d',
      'stack',
      '-XtAc',
      'select datname from pg_database',
    ]),
    'psql',
  )
    .trim()
    .split('\n')
}

describe("dev's create-database init container", () => {
  beforeAll(() => {
    if (!init || !pod)
      throw new Error('deployment/api in the dev overlay has no create-database init container')
    dir = mkdtempSync(join(tmpdir(), 'k8s-createdb-'))
    ok(docker(['network', 'create', network]), 'docker network create')
    const password = secretValue('postgres-password', 'password')
    ok(
      docker([
        'run',
        '-d',
        '--name',
        server,
        '--network',
        network,
        '--network-alias',
        'postgres',
        '-e',
        'POSTGRES_USER=stack',
        '-e',
        'POSTGRES_DB=stack',
        '-e',
        `POSTGRES_PASSWORD=${password}`,
        init.image ?? 'postgres:18',
      ]),
      'docker run postgres',
    )
  })

  afterAll(() => {
    docker(['rm', '-f', server])
    docker(['network', 'rm', network])
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it("waits for the server, then creates the database named by the service's Secret", async () => {
    // Started at once after the server: the container waits for it (pg_isready) before it connects.
    const { code, output } = await runInit()
    expect(output).toBe('')
    expect(code).toBe(0)
    expect(databases()).toContain('api')
  })

  it('does nothing the second time', async () => {
    expect(await runInit()).toEqual({ code: 0, output: '' })
    expect(databases().filter((d) => d === 'api')).toHaveLength(1)
  })

  it('creates a name with a dash, and two pods starting at once both succeed', async () => {
    const url = 'postgres://stack:dev-only-password@postgres:5432/order-items?sslmode=disable'
    const results = await Promise.all([runInit(url), runInit(url)])
    expect(results.map((r) => r.code)).toEqual([0, 0])
    expect(databases()).toContain('order-items')
  })

  it('refuses a URL whose database is not a plain name, with exit 2 and a reason', async () => {
    const { code, output } = await runInit('postgres://stack:x@postgres:5432/x;drop')
    expect(code).toBe(2)
    expect(output).toMatch(
      /create-database: no plain database name at the end of the URL in database-url: 'x;drop'/,
    )
  })
})
