import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { apps, repoRoot } from './apps.js'

// "A value that is the same for every service is written once": grepping the deploy config (the root
// compose files, deploy/, each app's compose files and kustomize directory; tests and fixtures aside)
// finds each setting every Node service shares in one file per platform, the shared definitions.
// A copy in an app's own file (or in a second shared file) fails here, with where it was found.
// The services that are not Node services (Traefik, PostgreSQL, Prometheus, Grafana, Loki, Alloy)
// and the development issuer (a Node process, but none of the services: no drain, no database, its
// own small heap) have timings of their own and are left out: in compose by the service block a line
// is in, in Kubernetes by their directories.

const composeShared = 'deploy/compose/node-service.yaml'
const composeTraefik = 'deploy/compose/traefik/dynamic.yml'
const component = 'deploy/k8s/components/node-service'
const k8sTransport = 'deploy/k8s/base/serverstransport.yaml'

/** Where a key may be set: the files, each shared by every service. */
type Places = Record<string, readonly string[]>

const compose: Places = {
  SHUTDOWN_DELAY_MS: [composeShared],
  SHUTDOWN_TIMEOUT_MS: [composeShared],
  KEEP_ALIVE_TIMEOUT_MS: [composeShared],
  REQUEST_TIMEOUT_MS: [composeShared],
  TRUST_PROXY: [composeShared],
  NODE_OPTIONS: [composeShared],
  MIGRATE_LOCK_TIMEOUT_MS: [composeShared],
  stop_grace_period: [composeShared],
  // The container health check (the probe's period and budget).
  interval: [composeShared],
  timeout: [composeShared],
  retries: [composeShared],
  start_period: [composeShared],
  // Traefik's health check of each replica, and the transport to every service.
  'loadbalancer.healthcheck.interval': [composeShared],
  'loadbalancer.healthcheck.timeout': [composeShared],
  'loadbalancer.serverstransport': [composeShared],
  // The rate limit every service's router has (labels: its figures come from the environment).
  'ratelimit.average': [composeShared],
  'ratelimit.burst': [composeShared],
  'ratelimit.period': [composeShared],
  dialTimeout: [composeTraefik],
  responseHeaderTimeout: [composeTraefik],
  idleConnTimeout: [composeTraefik],
}

const k8s: Places = {
  terminationGracePeriodSeconds: [`${component}/deployment.yaml`],
  // The probes'. The HorizontalPodAutoscaler's periodSeconds is its scale-down policy's, not a probe's.
  periodSeconds: [`${component}/container.yaml`, `${component}/horizontalpodautoscaler.yaml`],
  timeoutSeconds: [`${component}/container.yaml`],
  failureThreshold: [`${component}/container.yaml`],
  initialDelaySeconds: [],
  // The service's heap, and its migrator's (a smaller one) in the component a service with a database adds.
  NODE_OPTIONS: [
    `${component}/container.yaml`,
    'deploy/k8s/components/node-service-database/deployment.yaml',
  ],
  // The drain and connection timings are @stack/config's defaults: no manifest overrides them.
  SHUTDOWN_DELAY_MS: [],
  SHUTDOWN_TIMEOUT_MS: [],
  KEEP_ALIVE_TIMEOUT_MS: [],
  REQUEST_TIMEOUT_MS: [],
  // The rate limit every IngressRoute names.
  average: ['deploy/k8s/base/middlewares.yaml'],
  burst: ['deploy/k8s/base/middlewares.yaml'],
  // The ServersTransport every IngressRoute names.
  dialTimeout: [k8sTransport],
  responseHeaderTimeout: [k8sTransport],
  idleConnTimeout: [k8sTransport],
}

const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
  cwd: repoRoot,
  encoding: 'utf8',
  maxBuffer: 64 * 1024 * 1024,
})
  .stdout.split('\0')
  .filter((f) => /\.(ya?ml|env)$/.test(f) && !f.startsWith('deploy/test/'))

const composeFiles = files.filter((f) =>
  /^(compose[^/]*\.yaml|apps\/[^/]+\/compose\.(yaml|env)|deploy\/compose\/.*)$/.test(f),
)
// PostgreSQL's StatefulSet, the development issuer's Deployment, Traefik's chart values and the
// Prometheus Operator's scrape settings.
const k8sFiles = files.filter(
  (f) =>
    /^(deploy\/k8s\/|apps\/[^/]+\/k8s\/)/.test(f) &&
    !/^deploy\/k8s\/(postgres|dev-issuer|traefik|monitoring)\//.test(f),
)

/** A compose service block is a Node service's when it is the app's, one of its one-shots, or shared. */
function nodeServiceBlock(file: string, service: string | undefined): boolean {
  if (service === undefined || file === composeShared) return true
  return apps.some((a) => service === a.name || service.endsWith(`-${a.name}`))
}

/** The lines of a file that count: in a compose file, those outside the blocks of other services. */
function lines(file: string): string[] {
  const all = readFileSync(join(repoRoot, file), 'utf8').split('\n')
  if (!composeFiles.includes(file) || file.endsWith('.env')) return all
  let inServices = false
  let service: string | undefined
  return all.filter((line) => {
    if (/^\S/.test(line)) {
      inServices = /^services:\s*$/.test(line)
      service = undefined
    } else if (inServices) {
      const block = /^ {2}([\w.-]+):/.exec(line)
      if (block) service = block[1]
    }
    return nodeServiceBlock(file, service)
  })
}

/**
 * The files with a line setting `key` (`key: value`, `- KEY=value`, a `...key=value` label, a
 * container's `- name: KEY` env entry, a JSON patch's `"path": ".../key"`), comments aside.
 */
function whereSet(key: string, among: readonly string[]): string[] {
  const name = key.replaceAll('.', '\\.')
  const setting = new RegExp(
    `^\\s*(-\\s*)?([^#]*\\b${name}(:\\s|=)|name:\\s*["']?${name}["']?\\s*$|[^#]*/${name}["'])`,
  )
  return among.filter((f) => lines(f).some((line) => setting.test(line))).sort()
}

describe.each([
  ['compose', compose, composeFiles],
  ['Kubernetes', k8s, k8sFiles],
] as const)(
  '%s: each value every Node service shares is set in one shared place',
  (_platform, places, among) => {
    it('reads the shared files and every app', () => {
      for (const file of Object.values(places).flat()) expect(among, file).toContain(file)
      for (const app of apps)
        expect(
          among.some((f) => f.startsWith(`apps/${app.name}/`)),
          app.name,
        ).toBe(true)
    })

    it.each(Object.entries(places))('%s', (key, expected) => {
      expect(whereSet(key, among), key).toEqual([...expected].sort())
    })
  },
)
