import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import type { INetworkPolicyEgressRule } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule'
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer'
import { type Cidr, contains, overlaps, parseCidr } from '../cidr.js'
import { type K8sObject, ofKind, ref } from '../objects.js'
import {
  type AppWorkload,
  appWorkloads,
  type LabelSelector,
  selects,
  type Workload,
  where,
  workloads,
} from '../workloads.js'
import { check } from './check.js'
import { type IssuerTarget, issuerEgressPorts, issuerPort, issuerTarget } from './issuer-target.js'

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

/** How one issuer must be reached: the checks both kinds of issuer share, with their own words. */
interface IssuerRule {
  /** Every message starts with it: the workload (and, for a Service, its issuer). */
  at: string
  /** The egress ports that reach the issuer, the first as messages name it. */
  ports: readonly string[]
  /** The whole message when no rule allows those ports. */
  none: string
  /** Whom the one rule should be to. */
  to: string
  /** What a rule without `to` lets through. */
  noTo: string
  peerProblems: (peer: INetworkPolicyPeer) => string[]
  /** Checks of a rule with a `to`, after its peers'. */
  ruleProblems?: (rule: INetworkPolicyEgressRule) => string[]
}

/** Exactly one egress rule to the issuer's ports, to nothing else, and each of its peers sound. */
function issuerRuleProblems(egress: readonly INetworkPolicyEgressRule[], r: IssuerRule): string[] {
  const port = r.ports[0] as string
  const rules = egress.filter((rule) => rulePorts(rule).some((p) => r.ports.includes(p)))
  if (rules.length === 0) return [r.none]
  const problems: string[] = []
  if (rules.length > 1)
    problems.push(`${r.at}: ${rules.length} egress rules allow ${port}; one rule, to ${r.to}`)
  for (const rule of rules) {
    const others = rulePorts(rule).filter((p) => !r.ports.includes(p))
    if (others.length > 0) problems.push(`${r.at}: the ${port} egress rule also allows ${others.join(', ')}`)
    if (!rule.to?.length) {
      problems.push(`${r.at}: egress to ${port} has no \`to\`: ${r.noTo}`)
      continue
    }
    for (const peer of rule.to)
      for (const problem of r.peerProblems(peer)) problems.push(`${r.at}: egress to ${port}: ${problem}`)
    problems.push(...(r.ruleProblems?.(rule) ?? []))
  }
  return problems
}

/** What is wrong with one `to` peer of the rule to an issuer Service of the namespace, if anything. */
function localPeerProblems(
  objects: readonly K8sObject[],
  w: Workload,
  peer: INetworkPolicyPeer,
  pods: readonly Workload[],
): string[] {
  if (peer.ipBlock || peer.namespaceSelector)
    return [
      'the issuer is a Service of this namespace: name its pods with a podSelector only, no ipBlock or namespaceSelector',
    ]
  if (isEmpty(peer.podSelector))
    return ["an empty podSelector admits every pod of the namespace; name the issuer's pods"]
  const namespace = w.object.metadata.namespace
  const reached = workloads(objects).filter(
    (p) =>
      p.object.metadata.namespace === namespace && selects(peer.podSelector, p.template.metadata?.labels),
  )
  const others = reached.filter((p) => !pods.some((pod) => pod.object === p.object))
  if (others.length > 0)
    return [
      `podSelector ${JSON.stringify(peer.podSelector)} also admits ${others.map((p) => where(p)).join(', ')}`,
    ]
  return []
}

/** The issuer's own policies admit the service's pods on the issuer's port (policies add up). */
function admittedByIssuer(
  objects: readonly K8sObject[],
  w: Workload,
  target: IssuerTarget & { kind: 'service' },
): boolean {
  const policies = ofKind<INetworkPolicy>(objects, 'NetworkPolicy')
  const ports = issuerEgressPorts(target)
  return target.pods.every((pod) => {
    const own = policies.filter(
      (p) =>
        selects(p.spec?.podSelector, pod.template.metadata?.labels) &&
        (p.spec?.policyTypes?.includes('Ingress') ?? true),
    )
    if (own.length === 0) return true
    return own
      .flatMap((p) => p.spec?.ingress ?? [])
      .some(
        (rule) =>
          (!rule.from?.length ||
            rule.from.some(
              (peer) =>
                !peer.ipBlock &&
                !peer.namespaceSelector &&
                selects(peer.podSelector, w.template.metadata?.labels),
            )) &&
          (!rule.ports?.length || rulePorts(rule).some((p) => ports.includes(p))),
      )
  })
}

/** A service trusting an issuer Service of its own namespace (the dev overlay's dev-issuer). */
function localIssuerProblems(
  objects: readonly K8sObject[],
  w: AppWorkload,
  egress: readonly INetworkPolicyEgressRule[],
  target: IssuerTarget & { kind: 'service' },
): string[] {
  const at = `${where(w)}: AUTH_ISSUER ${target.issuer}`
  if (target.problem) return [`${at}: ${target.problem}, so the issuer is unreachable`]
  const ports = issuerEgressPorts(target)
  const port = ports[0] as string
  const problems: string[] = []
  if (egress.some((r) => rulePorts(r).includes(issuerPort)))
    problems.push(`${at} is a Service of this namespace, yet an egress rule allows ${issuerPort}`)
  const reached = (rule: INetworkPolicyEgressRule, pod: Workload) =>
    rule.to?.some((peer) => !peer.ipBlock && selects(peer.podSelector, pod.template.metadata?.labels))
  problems.push(
    ...issuerRuleProblems(egress, {
      at,
      ports,
      none: `${at}: no egress rule allows ${port} to its pods: every token gets 503`,
      to: 'its pods',
      noTo: 'any address and every pod',
      peerProblems: (peer) => localPeerProblems(objects, w, peer, target.pods),
      ruleProblems: (rule) =>
        target.pods.every((pod) => reached(rule, pod))
          ? []
          : [`${at}: egress to ${port} does not reach the pods of ${ref(target.service)}`],
    }),
  )
  if (!admittedByIssuer(objects, w, target))
    problems.push(`${at}: the NetworkPolicy of its pods admits no ingress from these pods on ${port}`)
  return problems
}

/**
 * A service with authentication on (AUTH_ISSUER set) reaches its identity provider, and nothing else
 * on that port. A provider outside the namespace: exactly one egress rule allows 443/TCP, only to
 * 443/TCP, and its `to` names public addresses (ipBlocks excepting every private, loopback,
 * link-local and CGNAT range they contain) or the provider's own pods. A blanket 443 (no `to`) is
 * refused as it was before the rule. An issuer that is a Service of the service's own namespace (the
 * dev overlay's development issuer): exactly one rule to the container port that Service lands on,
 * with a podSelector naming only the pods it selects, whose own policy admits the service; and no
 * 443 at all. Without authentication, assertNetworkPolicies refuses any 443 egress.
 */
export function assertIssuerEgress(objects: readonly K8sObject[]): void {
  check('egress to the identity provider must be to it only', (problems) => {
    const policies = ofKind<INetworkPolicy>(objects, 'NetworkPolicy')
    for (const w of appWorkloads(objects)) {
      const target = issuerTarget(objects, w)
      if (!target) continue
      const egress = policies
        .filter((p) => selects(p.spec?.podSelector, w.template.metadata?.labels))
        .flatMap((p) => p.spec?.egress ?? [])
      if (target.kind === 'service') {
        problems.push(...localIssuerProblems(objects, w, egress, target))
        continue
      }
      problems.push(
        ...issuerRuleProblems(egress, {
          at: where(w),
          ports: [issuerPort],
          none: `${where(w)}: AUTH_ISSUER is set but no egress rule allows ${issuerPort}: the identity provider is unreachable and every token gets 503`,
          to: 'the identity provider',
          noTo: 'any address, the cloud metadata endpoint (169.254.169.254) and every pod included',
          peerProblems,
        }),
      )
    }
  })
}
