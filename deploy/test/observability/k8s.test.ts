import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { assertions } from '../k8s/assertions.js'
import { type K8sObject, ofKind, overlays, render, renderOverlay } from '../k8s/objects.js'
import { validateSchemas } from '../k8s/schema.js'
import { appWorkloads, numericSetting, resolvePort, selects } from '../k8s/workloads.js'

// deploy/k8s/monitoring (a kustomize Component: PodMonitor + PrometheusRule) is not in any overlay,
// so the overlay tests never render it. Here each overlay is rendered with it, as an overlay that
// opts in would be, and the result must pass everything the overlays pass, plus the scrape contract.

const here = fileURLToPath(new URL('./', import.meta.url))
const deployDir = fileURLToPath(new URL('../../', import.meta.url))

interface PodMonitor {
  spec: {
    selector: { matchLabels?: Record<string, string> }
    jobLabel?: string
    podMetricsEndpoints: { port?: string; path?: string }[]
  }
}
interface PrometheusRule {
  spec: { groups: unknown[] }
}

describe.each(overlays)('overlay %s with the monitoring component', (overlay) => {
  let objects: K8sObject[] = []
  beforeAll(() => {
    objects = render(`${here}fixtures/monitoring-${overlay}`)
  })

  it('adds a PodMonitor per service and one PrometheusRule to the overlay, in its namespace', () => {
    const plain = renderOverlay(overlay)
    const added = objects.filter(
      (o) => !plain.some((p) => p.kind === o.kind && p.metadata.name === o.metadata.name),
    )
    // `pnpm new-service` adds a PodMonitor for each service it generates.
    const kinds = added.map((o) => o.kind)
    expect(kinds.filter((k) => k === 'PrometheusRule')).toHaveLength(1)
    expect(kinds.filter((k) => k === 'PodMonitor')).toHaveLength(appWorkloads(plain).length)
    expect(kinds.every((k) => k === 'PodMonitor' || k === 'PrometheusRule')).toBe(true)
    const namespace = plain.find((o) => o.kind === 'Deployment')?.metadata.namespace
    expect(namespace).toBeTruthy()
    for (const o of added) expect(o.metadata.namespace).toBe(namespace)
  })

  it('validates against the Kubernetes, Traefik and Prometheus operator schemas', () => {
    expect(() => validateSchemas(objects)).not.toThrow()
  })

  it.each(Object.entries(assertions))('%s', (_name, assertion) => {
    expect(() => assertion(objects)).not.toThrow()
  })

  it('the PodMonitor scrapes the API pods on the port the app serves /metrics on, as job "api"', () => {
    const [monitor] = ofKind<PodMonitor>(objects, 'PodMonitor')
    const [api] = appWorkloads(objects)
    if (!monitor || !api) throw new Error('no PodMonitor or no API workload rendered')
    const podLabels = api.template.metadata?.labels
    expect(selects(monitor.spec.selector, podLabels)).toBe(true)
    // The alerts and the dashboard group by job; compose's Prometheus calls the job "api" too.
    expect(podLabels?.[monitor.spec.jobLabel ?? '']).toBe('api')
    expect(monitor.spec.podMetricsEndpoints).toHaveLength(1)
    const endpoint = monitor.spec.podMetricsEndpoints[0]
    expect(endpoint?.path).toBe('/metrics')
    const port = resolvePort(api, endpoint?.port)
    expect(port?.container.name).toBe(api.container.name)
    expect(port?.port.containerPort).toBe(numericSetting(objects, api, api.container, 'METRICS_PORT'))
  })

  it('the NetworkPolicy lets the monitoring namespace reach that port', () => {
    const policies = ofKind<INetworkPolicy>(objects, 'NetworkPolicy')
    const [api] = appWorkloads(objects)
    const admitted = policies
      .filter((p) => selects(p.spec?.podSelector, api?.template.metadata?.labels))
      .flatMap((p) => p.spec?.ingress ?? [])
      .filter((rule) =>
        (rule.from ?? []).some(
          (peer) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring',
        ),
      )
      .flatMap((rule) => (rule.ports ?? []).map((p) => p.port))
    expect(admitted).toContain('metrics')
  })

  it('the PrometheusRule carries the groups of deploy/observability/alerts.yml, unchanged', () => {
    const [rule] = ofKind<PrometheusRule>(objects, 'PrometheusRule')
    const alerts = parse(
      readFileSync(`${deployDir}observability/alerts.yml`, 'utf8'),
    ) as PrometheusRule['spec']
    expect(rule?.spec.groups).toEqual(alerts.groups)
  })
})
