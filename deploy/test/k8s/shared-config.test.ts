import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { copyRepository, removeRepository } from '@stack/testing/repository'
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment'
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot } from '../apps.js'
import { newService } from '../new-service.js'
import { issuerEgressPorts, issuerTarget } from './assertions/issuer-target.js'
import { type K8sObject, ofKind, overlays, render } from './objects.js'
import { validateSchemas } from './schema.js'
import { type AppWorkload, configuredSetting } from './workloads.js'

// The point of deploy/k8s/components: a value every service shares is written once, and changing
// it there changes it for every service, the API and a generated one alike. In a copy of the
// repository, the copy's generator makes `shared-k8s-db` (`pnpm new-service shared-k8s-db --with-db`,
// a name no app uses, so that it runs in a checkout with orders generated too); then the grace
// period and the readiness period are changed in the component only, and both overlays are
// rendered again. The API's kustomize directory being the templates rendered for it is the
// generator's test (tooling/new-service/test/api-shape.test.ts).

const component = 'deploy/k8s/components/node-service'
const services = ['api', 'shared-k8s-db'] as const

function deployments(objects: readonly K8sObject[]): Map<string, K8sObject & IDeployment> {
  return new Map(ofKind<IDeployment>(objects, 'Deployment').map((d) => [d.metadata.name, d]))
}

function timings(d: IDeployment | undefined) {
  const pod = d?.spec?.template.spec
  return {
    grace: pod?.terminationGracePeriodSeconds,
    readinessPeriod: pod?.containers[0]?.readinessProbe?.periodSeconds,
  }
}

/** Replaces the one line matching `pattern` in a file of the copy; fails when it is not exactly one. */
function editLine(root: string, file: string, pattern: RegExp, replacement: string): void {
  const path = join(root, file)
  const text = readFileSync(path, 'utf8')
  const matches = text.match(new RegExp(pattern.source, 'gm')) ?? []
  if (matches.length !== 1) throw new Error(`${file}: ${matches.length} lines match ${pattern}, expected 1`)
  writeFileSync(path, text.replace(new RegExp(pattern.source, 'm'), replacement))
}

describe('a shared value changed in the component reaches every service', () => {
  let root = ''
  const before = new Map<string, K8sObject[]>()
  const after = new Map<string, K8sObject[]>()

  beforeAll(() => {
    root = copyRepository(repoRoot, { prefix: 'k8s-shared-' })
    newService(root, 'shared-k8s-db', { withDb: true })
    for (const overlay of overlays) before.set(overlay, render(join(root, 'deploy/k8s/overlays', overlay)))
    editLine(
      root,
      `${component}/deployment.yaml`,
      /^( *)terminationGracePeriodSeconds: 25$/,
      '$1terminationGracePeriodSeconds: 47',
    )
    // The readiness probe's periodSeconds: the only `periodSeconds: 2` followed by the readiness
    // probe's timeoutSeconds 2 (the startup probe's is 1).
    const container = join(root, `${component}/container.yaml`)
    const text = readFileSync(container, 'utf8')
    const readiness = text.indexOf('path: /spec/template/spec/containers/0/readinessProbe')
    const period = text.indexOf('periodSeconds: 2', readiness)
    if (readiness < 0 || period < 0)
      throw new Error(`${component}/container.yaml: no readiness periodSeconds`)
    writeFileSync(
      container,
      `${text.slice(0, period)}periodSeconds: 1${text.slice(period + 'periodSeconds: 2'.length)}`,
    )
    for (const overlay of overlays) after.set(overlay, render(join(root, 'deploy/k8s/overlays', overlay)))
  })

  afterAll(() => removeRepository(root))

  it.each(overlays)('%s: both services carry the shared values before the change', (overlay) => {
    const rendered = deployments(before.get(overlay) ?? [])
    for (const name of services) {
      expect(timings(rendered.get(name)), name).toEqual({ grace: 25, readinessPeriod: 2 })
    }
  })

  it.each(overlays)('%s: both services carry the new values after it', (overlay) => {
    const rendered = deployments(after.get(overlay) ?? [])
    for (const name of services) {
      expect(timings(rendered.get(name)), name).toEqual({ grace: 47, readinessPeriod: 1 })
    }
  })

  it.each(overlays)('%s: the generated service renders valid objects of its own', (overlay) => {
    const objects = after.get(overlay) ?? []
    expect(() => validateSchemas(objects)).not.toThrow()
    const own = objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/name'] === 'shared-k8s-db')
    expect(own.map((o) => o.kind).sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'HorizontalPodAutoscaler',
      'IngressRoute',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
    ])
    const orders = deployments(objects).get('shared-k8s-db')
    const pod = orders?.spec?.template.spec
    expect(pod?.initContainers?.find((c) => c.name === 'migrate')?.image).toBe(pod?.containers[0]?.image)
    expect(pod?.containers[0]?.image).toMatch(/stack\/shared-k8s-db:/)
    expect(pod?.volumes?.find((v) => v.name === 'secrets')?.secret?.secretName).toBe('shared-k8s-db-secrets')
  })

  it("prod gives the generated service the API's egress to the identity provider", () => {
    const objects = after.get('prod') ?? []
    const https = (name: string) =>
      ofKind<INetworkPolicy>(objects, 'NetworkPolicy')
        .filter((p) => p.metadata.name === name)
        .flatMap((p) => p.spec?.egress ?? [])
        .filter((r) => r.ports?.some((p) => p.port === 443))
    expect(https('shared-k8s-db')).toHaveLength(1)
    expect(https('shared-k8s-db')).toEqual(https('api'))
  })

  it("dev gives the generated service the API's issuer, audience and egress to the development issuer", () => {
    const objects = after.get('dev') ?? []
    // Built by hand: `apps` lists this checkout's services, not the copy's generated one.
    const workload = (name: string): AppWorkload => {
      const object = deployments(objects).get(name)
      const container = object?.spec?.template.spec?.containers[0]
      if (!object?.spec || !container) throw new Error(`no Deployment ${name} in the dev overlay`)
      return {
        object,
        template: object.spec.template,
        container,
        app: { name, image: `stack/${name}`, database: true },
      }
    }
    const issuer = (name: string) =>
      configuredSetting(objects, workload(name), workload(name).container, 'AUTH_ISSUER')
    expect(issuer('shared-k8s-db')).toBe('http://dev-issuer:3000')
    expect(issuer('shared-k8s-db')).toBe(issuer('api'))
    const audience = (name: string) => workload(name).container.env?.find((e) => e.name === 'AUTH_AUDIENCE')
    expect(audience('shared-k8s-db')).toEqual(audience('api'))
    const target = issuerTarget(objects, workload('shared-k8s-db'))
    expect(target?.kind === 'service' && target.service.metadata.name).toBe('dev-issuer')
    expect(issuerEgressPorts(target)).toEqual(['3000/TCP', 'http/TCP'])
    const toIssuer = (name: string) =>
      ofKind<INetworkPolicy>(objects, 'NetworkPolicy')
        .filter((p) => p.metadata.name === name)
        .flatMap((p) => p.spec?.egress ?? [])
        .filter((r) => r.ports?.some((p) => p.port === 3000 || p.port === 443))
    expect(toIssuer('shared-k8s-db')).toHaveLength(1)
    expect(toIssuer('shared-k8s-db')).toEqual(toIssuer('api'))
  })

  it('dev creates the generated service its own database, from its own Secret', () => {
    const objects = after.get('dev') ?? []
    const pod = deployments(objects).get('shared-k8s-db')?.spec?.template.spec
    expect(pod?.initContainers?.map((c) => c.name)).toEqual(['create-database', 'migrate'])
    const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'shared-k8s-db-secrets') as
      | (K8sObject & { data?: Record<string, string> })
      | undefined
    const url = Buffer.from(secret?.data?.['database-url'] ?? '', 'base64').toString()
    expect(url).toBe('postgres://stack:dev-only-password@postgres:5432/shared-k8s-db')
  })
})

describe('a service generated without a database', () => {
  it('renders no migrator, no Secret and no PostgreSQL egress, at the longest name', () => {
    // 40 characters, the most `pnpm new-service` accepts, with dashes: every overlay line still renders.
    const name = 'a-service-without-a-database-forty-chars'
    expect(name).toHaveLength(40)
    const root = copyRepository(repoRoot, { prefix: 'k8s-no-db-' })
    try {
      newService(root, name, { withDb: false })
      for (const overlay of overlays) {
        const objects = render(join(root, 'deploy/k8s/overlays', overlay))
        expect(() => validateSchemas(objects)).not.toThrow()
        const own = objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/name'] === name)
        const pod = deployments(own).get(name)?.spec?.template.spec
        expect(pod?.initContainers).toBeUndefined()
        expect(pod?.volumes?.map((v) => v.name)).toEqual(['tmp'])
        expect(pod?.containers[0]?.env?.filter((e) => e.name.startsWith('DATABASE'))).toEqual([])
        const egress = ofKind<INetworkPolicy>(own, 'NetworkPolicy').flatMap((p) => p.spec?.egress ?? [])
        // DNS, and the identity provider: HTTPS in prod, the development issuer's port in dev.
        expect(egress.flatMap((r) => r.ports?.map((p) => p.port) ?? [])).toEqual(
          overlay === 'prod' ? [443, 53, 53] : [3000, 53, 53],
        )
        expect(deployments(own).get(name)?.metadata.labels?.['stack/postgres-client']).toBeUndefined()
      }
    } finally {
      removeRepository(root)
    }
  })
})
