import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import type { INetworkPolicyEgressRule } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule'
import { describe, expect, it } from 'vitest'
import { apps } from '../apps.js'
import { type Cidr, contains, parseCidr } from './cidr.js'
import { type K8sObject, ofKind, renderOverlay } from './objects.js'
import { appWorkloads, selects } from './workloads.js'

// The prod overlay turns authentication on against a provider at public addresses
// (components/node-service-auth-public-issuer), so every service's pods must reach it over HTTPS; dev
// trusts the in-cluster development issuer instead (dev-issuer.test.ts) and keeps 443 closed. The general
// rules (one 443 rule, public or in-cluster destinations only) are assertIssuerEgress, run over both
// overlays in overlays.test.ts; this pins the shared default every service gets.

/** The 443 egress rules of the policies guarding each service's Deployment, by service. */
function httpsEgress(objects: readonly K8sObject[]): Map<string, INetworkPolicyEgressRule[]> {
  const policies = ofKind<INetworkPolicy>(objects, 'NetworkPolicy')
  return new Map(
    appWorkloads(objects)
      .filter((w) => w.object.kind === 'Deployment')
      .map((w) => [
        w.app.name,
        policies
          .filter((p) => selects(p.spec?.podSelector, w.template.metadata?.labels))
          .flatMap((p) => p.spec?.egress ?? [])
          .filter((r) => r.ports?.some((p) => p.port === 443)),
      ]),
  )
}

const publicOnly: INetworkPolicyEgressRule = {
  to: [
    {
      ipBlock: {
        cidr: '0.0.0.0/0',
        except: [
          '10.0.0.0/8',
          '172.16.0.0/12',
          '192.168.0.0/16',
          '100.64.0.0/10',
          '127.0.0.0/8',
          '169.254.0.0/16',
        ],
      },
    },
    { ipBlock: { cidr: '::/0', except: ['fc00::/7', 'fe80::/10', '::1/128'] } },
  ],
  ports: [{ port: 443, protocol: 'TCP' }],
}

describe('egress to the identity provider', () => {
  const prod = httpsEgress(renderOverlay('prod'))

  it('prod: every service in apps/ has the one 443 rule, to public addresses only', () => {
    const rules = prod
    expect([...rules.keys()].sort()).toEqual(apps.map((a) => a.name))
    for (const [name, own] of rules) expect(own, name).toEqual([publicOnly])
  })

  it('prod: the rule keeps out the metadata endpoint, the private ranges and the pod and node ranges', () => {
    const rendered = [...prod.values()].flat()
    expect(rendered).toHaveLength(apps.length)
    const blocks = rendered
      .flatMap((rule) => rule.to ?? [])
      .flatMap((peer) => (peer.ipBlock ? (peer.ipBlock.except ?? []).map((e) => parseCidr(e) as Cidr) : []))
    const excepted = (address: string) => blocks.some((b) => contains(b, parseCidr(address) as Cidr))
    for (const address of [
      '169.254.169.254/32',
      '10.96.0.1/32',
      '192.168.1.10/32',
      '100.64.0.10/32',
      'fd00:ec2::254/128',
    ])
      expect(excepted(address), address).toBe(true)
    for (const address of ['8.8.8.8/32', '20.190.128.0/18', '2606:4700::/32'])
      expect(excepted(address), address).toBe(false)
  })

  it('dev: the issuer is in the namespace, so no service may open 443', () => {
    const rules = httpsEgress(renderOverlay('dev'))
    expect([...rules.keys()].sort()).toEqual(apps.map((a) => a.name))
    for (const [name, own] of rules) expect(own, name).toEqual([])
  })
})
