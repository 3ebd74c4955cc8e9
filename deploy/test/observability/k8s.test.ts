import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { apps } from '../apps.js'
import { assertions } from '../k8s/assertions.js'
import { type K8sObject, ofKind, overlays, render, renderOverlay } from '../k8s/objects.js'
import { validateSchemas } from '../k8s/schema.js'
import { appWorkloads, numericSetting, resolvePort, selects, workloads } from '../k8s/workloads.js'

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

  it('adds one PodMonitor and one PrometheusRule to the overlay, in its namespace', () => {
    const plain = renderOverlay(overlay)
    const added = objects.filter(
      (o) => !plain.some((p) => p.kind === o.kind && p.metadata.name === o.metadata.name),
    )
    // One PodMonitor selects every service by label: a new service needs no entry.
    const kinds = added.map((o) => o.kind).sort()
    expect(kinds).toEqual(['PodMonitor', 'PrometheusRule'])
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

  it('the PodMonitor scrapes every service on the port it serves /metrics on, as job "<name>"', () => {
    const monitors = ofKind<PodMonitor>(objects, 'PodMonitor')
    const services = appWorkloads(objects)
    expect(services.map((w) => w.app.name).sort()).toEqual(apps.map((a) => a.name))
    for (const w of services) {
      const podLabels = w.template.metadata?.labels
      const [monitor, ...others] = monitors.filter((m) => selects(m.spec.selector, podLabels))
      if (!monitor) throw new Error(`no PodMonitor selects ${w.app.name}'s pods`)
      expect(others).toHaveLength(0)
      // The alerts and the dashboard group by job; compose's Prometheus calls the job "api" too.
      expect(podLabels?.[monitor.spec.jobLabel ?? '']).toBe(w.app.name)
      expect(monitor.spec.podMetricsEndpoints).toHaveLength(1)
      const endpoint = monitor.spec.podMetricsEndpoints[0]
      expect(endpoint?.path).toBe('/metrics')
      const port = resolvePort(w, endpoint?.port)
      expect(port?.container.name).toBe(w.container.name)
      expect(port?.port.containerPort).toBe(numericSetting(objects, w, w.container, 'METRICS_PORT'))
    }
  })

  it('the PodMonitor selects no other pods (PostgreSQL)', () => {
    const monitors = ofKind<PodMonitor>(objects, 'PodMonitor')
    const services = new Set(appWorkloads(objects).map((w) => w.object))
    for (const w of workloads(objects).filter((x) => !services.has(x.object))) {
      expect(monitors.filter((m) => selects(m.spec.selector, w.template.metadata?.labels))).toEqual([])
    }
  })

  it("each service's NetworkPolicy lets the monitoring namespace reach that port", () => {
    const policies = ofKind<INetworkPolicy>(objects, 'NetworkPolicy')
    for (const w of appWorkloads(objects)) {
      const admitted = policies
        .filter((p) => selects(p.spec?.podSelector, w.template.metadata?.labels))
        .flatMap((p) => p.spec?.ingress ?? [])
        .filter((rule) =>
          (rule.from ?? []).some(
            (peer) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring',
          ),
        )
        .flatMap((rule) => (rule.ports ?? []).map((p) => p.port))
      expect(admitted).toContain('metrics')
    }
  })

  it('the PrometheusRule carries the groups of deploy/observability/alerts.yml, unchanged', () => {
    const [rule] = ofKind<PrometheusRule>(objects, 'PrometheusRule')
    const alerts = parse(
      readFileSync(`${deployDir}observability/alerts.yml`, 'utf8'),
    ) as PrometheusRule['spec']
    expect(rule?.spec.groups).toEqual(alerts.groups)
  })
})
