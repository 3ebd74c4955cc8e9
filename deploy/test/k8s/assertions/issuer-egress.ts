import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import type { INetworkPolicyEgressRule } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule'
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer'
import { type Cidr, contains, overlaps, parseCidr } from '../cidr.js'
import { type K8sObject, ofKind } from '../objects.js'
import { appWorkloads, type LabelSelector, selects, verifiesTokens, where } from '../workloads.js'
import { check } from './check.js'

/**
 * What egress to 443 must never reach, with the reason: a hosted identity provider is at public
 * addresses, and these hold the pods, the nodes, the cluster's and the VPC's services and (link-local)
 * the cloud metadata endpoint, whose credentials are the node's.
 */
const nonPublic: readonly { cidr: Cidr; why: string }[] = [
  ['10.0.0.0/8', 'private'],
  ['172.16.0.0/12', 'private'],
  ['192.168.0.0/16', 'private'],
  ['100.64.0.0/10', 'CGNAT, pod or node addresses on some clusters'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local: the cloud metadata endpoint 169.254.169.254'],
  ['fc00::/7', 'unique local: private'],
  ['fe80::/10', 'link-local'],
  ['::1/128', 'loopback'],
].map(([text = '', why = '']) => ({ cidr: parseCidr(text) as Cidr, why }))

/** The port the identity provider serves HTTPS on, as a NetworkPolicy sees it (the pods' port). */
export const issuerPort = '443/TCP'

function isEmpty(selector: LabelSelector | undefined): boolean {
  return !selector?.matchLabels && !selector?.matchExpressions?.length
}

/** What is wrong with one `to` peer of the 443 rule, if anything. */
function peerProblems(peer: INetworkPolicyPeer): string[] {
  const { ipBlock, namespaceSelector, podSelector } = peer
  if (ipBlock) {
    const cidr = parseCidr(ipBlock.cidr)
    if (typeof cidr === 'string') return [`ipBlock cidr ${ipBlock.cidr} ${cidr}, the API server refuses it`]
    const problems: string[] = []
    const excepted: Cidr[] = []
    for (const text of ipBlock.except ?? []) {
      const except = parseCidr(text)
      if (typeof except === 'string')
        problems.push(`ipBlock except ${text} ${except}, the API server refuses it`)
      else if (!contains(cidr, except) || except.prefix === cidr.prefix)
        problems.push(
          `ipBlock except ${text} is not a strict subset of ${cidr.text}, the API server refuses it`,
        )
      else excepted.push(except)
    }
    for (const range of nonPublic) {
      if (!overlaps(cidr, range.cidr)) continue
      if (excepted.some((e) => contains(e, range.cidr))) continue
      problems.push(`ipBlock ${cidr.text} admits ${range.cidr.text} (${range.why}); add it to except`)
    }
    return problems
  }
  // Selector peers are in-cluster (an identity provider running as pods): each must name its pods.
  if (isEmpty(podSelector)) {
    return [
      namespaceSelector
        ? `namespaceSelector ${JSON.stringify(namespaceSelector)} without a podSelector admits every pod of ${isEmpty(namespaceSelector) ? 'every namespace' : 'those namespaces'}; name the provider's pods`
        : "an empty podSelector admits every pod of the namespace; name the provider's pods",
    ]
  }
  if (namespaceSelector && isEmpty(namespaceSelector))
    return ["an empty namespaceSelector admits those pods in every namespace; name the provider's namespace"]
  return []
}

function rulePorts(rule: INetworkPolicyEgressRule): string[] {
  return (rule.ports ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`)
}

/**
 * A service with authentication on (AUTH_ISSUER set) reaches its identity provider over HTTPS, and
 * nothing else on 443: exactly one egress rule allows 443/TCP, only to 443/TCP, and its `to` names
 * public addresses (ipBlocks excepting every private, loopback, link-local and CGNAT range they
 * contain) or the provider's own pods. A blanket 443 (no `to`) is refused as it was before the rule.
 * Without authentication, assertNetworkPolicies refuses any 443 egress.
 */
export function assertIssuerEgress(objects: readonly K8sObject[]): void {
  check('egress to the identity provider must be HTTPS to it only', (problems) => {
    const policies = ofKind<INetworkPolicy>(objects, 'NetworkPolicy')
    for (const w of appWorkloads(objects)) {
      if (!verifiesTokens(objects, w)) continue
      const egress = policies
        .filter((p) => selects(p.spec?.podSelector, w.template.metadata?.labels))
        .flatMap((p) => p.spec?.egress ?? [])
      const rules = egress.filter((r) => rulePorts(r).includes(issuerPort))
      if (rules.length === 0) {
        problems.push(
          `${where(w)}: AUTH_ISSUER is set but no egress rule allows ${issuerPort}: the identity provider is unreachable and every token gets 503`,
        )
        continue
      }
      if (rules.length > 1)
        problems.push(
          `${where(w)}: ${rules.length} egress rules allow ${issuerPort}; one rule, to the identity provider`,
        )
      for (const rule of rules) {
        const others = rulePorts(rule).filter((p) => p !== issuerPort)
        if (others.length > 0)
          problems.push(`${where(w)}: the ${issuerPort} egress rule also allows ${others.join(', ')}`)
        if (!rule.to?.length) {
          problems.push(
            `${where(w)}: egress to ${issuerPort} has no \`to\`: any address, the cloud metadata endpoint (169.254.169.254) and every pod included`,
          )
          continue
        }
        for (const peer of rule.to)
          for (const problem of peerProblems(peer))
            problems.push(`${where(w)}: egress to ${issuerPort}: ${problem}`)
      }
    }
  })
}
