import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment'
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import type { IService } from 'kubernetes-models/v1/Service'
import { describe, expect, it } from 'vitest'
import { apps, isDevIssuerImage } from '../apps.js'
import { issuerEgressPorts, issuerTarget } from './assertions/issuer-target.js'
import { type K8sObject, ofKind, renderOverlay } from './objects.js'
import { appWorkloads, configuredSetting, containers, selects, workloads } from './workloads.js'

// The dev overlay verifies tokens too, from the in-cluster development issuer (deploy/k8s/dev-issuer):
// every service's AUTH_ISSUER is the URL the issuer serves as its `iss` (one ConfigMap key feeds
// both), and each service's policy lets it reach the issuer's pods on the port they listen on.
// Prod renders none of it and no service trusts it. The general rules are assertIssuerEgress (both
// overlays, overlays.test.ts); this pins what the two overlays actually render.

const own = (objects: readonly K8sObject[]) =>
  objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/name'] === 'dev-issuer')

describe('the development issuer', () => {
  const dev = renderOverlay('dev')
  const prod = renderOverlay('prod')
  const issuer = workloads(dev).find((w) => containers(w).some((c) => isDevIssuerImage(c.image)))
  const issuerContainer = issuer ? containers(issuer)[0] : undefined

  it('dev renders its Deployment, Service, ServiceAccount, NetworkPolicy and key claim, one pod', () => {
    expect(
      own(dev)
        .map((o) => `${o.kind}/${o.metadata.name}`)
        .sort(),
    ).toEqual([
      'Deployment/dev-issuer',
      'NetworkPolicy/dev-issuer',
      'PersistentVolumeClaim/dev-issuer',
      'Service/dev-issuer',
      'ServiceAccount/dev-issuer',
    ])
    const deployment = issuer?.object as (K8sObject & IDeployment) | undefined
    expect(deployment?.spec?.replicas).toBe(1)
    expect(issuerContainer?.image).toBe('stack/dev-issuer:dev')
  })

  it("dev: every service's AUTH_ISSUER is the issuer's DEV_ISSUER_URL, the namespace-local Service", () => {
    if (!issuer || !issuerContainer) throw new Error('the dev overlay runs no development issuer')
    const url = configuredSetting(dev, issuer, issuerContainer, 'DEV_ISSUER_URL')
    expect(url).toBe('http://dev-issuer:3000')
    const services = appWorkloads(dev).filter((w) => w.object.kind === 'Deployment')
    expect(services.map((w) => w.app.name).sort()).toEqual(apps.map((a) => a.name))
    for (const w of services) {
      expect(configuredSetting(dev, w, w.container, 'AUTH_ISSUER'), w.app.name).toBe(url)
      expect(w.container.env, w.app.name).toContainEqual({
        name: 'AUTH_AUDIENCE',
        valueFrom: { fieldRef: { fieldPath: "metadata.labels['app.kubernetes.io/name']" } },
      })
      const target = issuerTarget(dev, w)
      expect(target?.kind === 'service' && target.service.metadata.name, w.app.name).toBe('dev-issuer')
    }
  })

  it("dev: each service's egress reaches the issuer's pods on their port, and nothing on 443", () => {
    const policies = ofKind<INetworkPolicy>(dev, 'NetworkPolicy')
    const issuerLabels = issuer?.template.metadata?.labels
    const port = issuerContainer?.ports?.find((p) => p.name === 'http')?.containerPort
    expect(port).toBe(3000)
    for (const w of appWorkloads(dev).filter((x) => x.object.kind === 'Deployment')) {
      const egress = policies
        .filter((p) => selects(p.spec?.podSelector, w.template.metadata?.labels))
        .flatMap((p) => p.spec?.egress ?? [])
      const toIssuer = egress.filter((r) =>
        r.to?.some((peer) => !peer.namespaceSelector && selects(peer.podSelector, issuerLabels)),
      )
      expect(
        toIssuer.map((r) => r.ports),
        w.app.name,
      ).toEqual([[{ port, protocol: 'TCP' }]])
      expect(issuerEgressPorts(issuerTarget(dev, w)), w.app.name).toEqual(['3000/TCP', 'http/TCP'])
      expect(
        egress.flatMap((r) => r.ports ?? []).filter((p) => p.port === 443),
        w.app.name,
      ).toEqual([])
    }
  })

  it("dev: the Service's port lands on that port, and the issuer admits only the services' pods", () => {
    const service = ofKind<IService>(dev, 'Service').find((s) => s.metadata.name === 'dev-issuer')
    expect(service?.spec?.ports).toEqual([
      { name: 'http', port: 3000, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' },
    ])
    const policy = ofKind<INetworkPolicy>(dev, 'NetworkPolicy').find((p) => p.metadata.name === 'dev-issuer')
    expect(policy?.spec?.ingress).toEqual([
      {
        from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/component': 'node-service' } } }],
        ports: [{ port: 'http', protocol: 'TCP' }],
      },
    ])
    expect(policy?.spec?.egress?.flatMap((r) => r.ports?.map((p) => p.port) ?? [])).toEqual([53, 53])
  })

  it('prod renders no part of it, and no service trusts it', () => {
    expect(own(prod)).toEqual([])
    expect(
      workloads(prod)
        .flatMap(containers)
        .filter((c) => isDevIssuerImage(c.image)),
    ).toEqual([])
    for (const w of appWorkloads(prod)) {
      const trusted = configuredSetting(prod, w, w.container, 'AUTH_ISSUER') ?? ''
      expect(trusted, w.app.name).not.toContain('dev-issuer')
      expect(issuerTarget(prod, w)?.kind, w.app.name).toBe('outside')
    }
  })
})
