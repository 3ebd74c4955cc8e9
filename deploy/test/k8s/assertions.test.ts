import { describe, expect, it } from 'vitest'
import { apps } from '../apps.js'
import { type Assertion, assertions, ManifestError } from './assertions.js'
import { fixturesDir, loadFixture } from './objects.js'
import { assertTraefikValues, loadTraefikValues } from './traefik.js'

// Each assertion against a small manifest broken in exactly the way it exists to catch: without
// these, a check that can never fail would pass the overlays just as well. Keyed by assertion name,
// so a new assertion without a broken fixture does not compile.
const cases: Record<keyof typeof assertions, { fixture: string; message: RegExp }> = {
  assertAppPorts: {
    fixture: 'app-ports-wrong.yaml',
    message:
      /HOST is 127\.0\.0\.1[\s\S]*port "http" is 3000, PORT is 8080[\s\S]*port "metrics" is not declared, METRICS_PORT is 9464[\s\S]*prometheus\.io\/port is 9100, METRICS_PORT is 9464/,
  },
  assertImagesPinned: {
    fixture: 'images-not-pinned.yaml',
    message: /image "stack\/api:latest" uses :latest[\s\S]*image "busybox" has no tag/,
  },
  assertProbesPresent: {
    fixture: 'probes-missing.yaml',
    message: /deployment\/worker container worker: has no readinessProbe/,
  },
  assertResources: {
    fixture: 'resources-missing.yaml',
    message: /container setup: no limits\.cpu[\s\S]*container setup: no limits\.memory/,
  },
  assertSecurityContext: {
    fixture: 'security-context-weak.yaml',
    message: /readOnlyRootFilesystem is not true[\s\S]*capabilities do not drop ALL/,
  },
  assertAppProbes: {
    fixture: 'app-probes-wrong.yaml',
    message:
      /livenessProbe port resolves to 8080, the app listens on 3000[\s\S]*readinessProbe path is \/health\/live, the app serves \/health\/ready/,
  },
  assertGracePeriod: {
    fixture: 'grace-period-short.yaml',
    message: /terminationGracePeriodSeconds 25 s is not above 5000 \+ 20000 ms/,
  },
  assertReadinessWithinDrainDelay: {
    fixture: 'readiness-slow.yaml',
    message: /readiness needs 30000 ms .*SHUTDOWN_DELAY_MS is 5000 ms/,
  },
  assertZeroDowntimeRollout: {
    fixture: 'rollout-unsafe.yaml',
    message:
      /maxUnavailable is unset \(25%\), not 0[\s\S]*minReadySeconds is not set[\s\S]*progressDeadlineSeconds is not set[\s\S]*revisionHistoryLimit 0 leaves nothing to undo to/,
  },
  assertMigrationsBeforeApp: {
    fixture: 'migrations-missing.yaml',
    message:
      /no init container runs node node_modules\/@stack\/migrate\/dist\/cli\.js up[\s\S]*deployment\/api-elsewhere container migrate: sets MIGRATIONS_DIR[\s\S]*workingDir \/opt is not the app's/,
  },
  assertSecretFiles: {
    fixture: 'secret-file-unmounted.yaml',
    message: /DATABASE_URL_FILE=\/run\/secrets\/api\/database-url is not inside a mounted Secret/,
  },
  assertHeapFitsMemoryLimit: {
    fixture: 'heap-above-limit.yaml',
    message:
      /--max-old-space-size=512 \+ 3 × --max-semi-space-size=16 = 560 MiB is above 80 % of the 512Mi limit/,
  },
  assertNoServiceAccountToken: {
    fixture: 'service-account-token.yaml',
    message: /runs as the default ServiceAccount[\s\S]*the token is mounted/,
  },
  assertSelectors: {
    fixture: 'selectors-mismatch.yaml',
    message: /service\/api: selector \{"app":"apii"\} matches no pod template/,
  },
  assertServiceTargetPorts: {
    fixture: 'service-target-port.yaml',
    message: /service\/api port http: targetPort web is not a port of deployment\/api/,
  },
  assertIngressRoutes: {
    fixture: 'ingressroute-to-metrics.yaml',
    message: /service api:metrics: lands on container port 9464, the app serves HTTP on 3000/,
  },
  assertNetworkPolicies: {
    fixture: 'networkpolicy-ports.yaml',
    message:
      /ingress port 8080 is not a port[\s\S]*port http is allowed by no NetworkPolicy rule[\s\S]*egress to 443\/TCP is allowed/,
  },
  assertIssuerEgress: {
    fixture: 'issuer-egress-open.yaml',
    message:
      /api-anywhere: egress to 443\/TCP has no `to`[\s\S]*ipBlock 0\.0\.0\.0\/0 admits 169\.254\.0\.0\/16 \(link-local: the cloud metadata endpoint[\s\S]*api-unreachable: AUTH_ISSUER is set but no egress rule allows 443\/TCP/,
  },
  assertAutoscaling: {
    fixture: 'autoscaler-target-missing.yaml',
    message:
      /target Deployment\/apii is not rendered[\s\S]*sets replicas \(3\) although horizontalpodautoscaler\/api owns the count/,
  },
  assertDisruptionBudget: {
    fixture: 'disruption-budget-blocks.yaml',
    message: /minAvailable 3 at 3 replicas blocks every drain/,
  },
  assertConnectionBudget: {
    fixture: 'connection-budget.yaml',
    message:
      /\(10 max replicas \+ 1 surge\) x 10 pool \+ 11 migrators = 121 connections, above 80 \(80 % of max_connections 100/,
  },
  assertProxyTimeouts: {
    fixture: 'proxy-idle-timeout.yaml',
    message: /idleConnTimeout 90000 ms is not below KEEP_ALIVE_TIMEOUT_MS 65000 ms/,
  },
  assertEveryAppDeployed: {
    fixture: 'app-not-routed.yaml',
    message: /deployment\/api: no IngressRoute routes to service\/api/,
  },
  assertRateLimited: {
    fixture: 'ingressroute-not-rate-limited.yaml',
    message:
      /ingressroute\/api: route 0 names no rateLimit Middleware[\s\S]*ingressroute\/web: route 0: rateLimit\.average is not above 0[\s\S]*groups by host or header/,
  },
  assertTraefikCrdFields: {
    fixture: 'middleware-newer-crd-field.yaml',
    message: /middleware\/retry: spec\.retry\.retryNonIdempotentMethod exists only in Traefik v3\.7\+ CRDs/,
  },
}

describe('each assertion fails on a manifest broken for it', () => {
  it('covers every assertion', () => {
    expect(Object.keys(cases).sort()).toEqual(Object.keys(assertions).sort())
  })

  it.each(Object.entries(cases))('%s rejects its fixture', (name, { fixture, message }) => {
    const assertion: Assertion = assertions[name as keyof typeof assertions]
    const objects = loadFixture(fixture)
    expect(() => assertion(objects)).toThrow(ManifestError)
    expect(() => assertion(objects)).toThrow(message)
  })
})

describe('assertEveryAppDeployed', () => {
  it('names each service in apps/ that nothing runs', () => {
    expect(() => assertions.assertEveryAppDeployed([])).toThrow(
      new RegExp(apps.map((a) => `${a.name}: no workload runs ${a.image}`).join('[\\s\\S]*')),
    )
  })
})

describe('assertIssuerEgress', () => {
  it("accepts the provider's own range, an in-cluster provider's pods, and no rule without authentication", () => {
    expect(() => assertions.assertIssuerEgress(loadFixture('issuer-egress-narrowed.yaml'))).not.toThrow()
  })

  it('names each service and each reason in its broken fixture, and nothing else', () => {
    let problems: string[] = []
    try {
      assertions.assertIssuerEgress(loadFixture('issuer-egress-open.yaml'))
    } catch (error) {
      problems = (error as ManifestError).problems
    }
    const https = 'egress to 443/TCP'
    const admits = (cidr: string, range: string, why: string) =>
      `${https}: ipBlock ${cidr} admits ${range} (${why}); add it to except`
    const refused = (what: string) => `${https}: ipBlock ${what}, the API server refuses it`
    expect(problems).toEqual([
      `deployment/api-anywhere: ${https} has no \`to\`: any address, the cloud metadata endpoint (169.254.169.254) and every pod included`,
      'deployment/api-metadata: the 443/TCP egress rule also allows 80/TCP',
      `deployment/api-metadata: ${admits('0.0.0.0/0', '100.64.0.0/10', 'CGNAT, pod or node addresses on some clusters')}`,
      `deployment/api-metadata: ${admits('0.0.0.0/0', '127.0.0.0/8', 'loopback')}`,
      `deployment/api-metadata: ${admits('0.0.0.0/0', '169.254.0.0/16', 'link-local: the cloud metadata endpoint 169.254.169.254')}`,
      'deployment/api-two-rules: 2 egress rules allow 443/TCP; one rule, to the identity provider',
      `deployment/api-two-rules: ${admits('::/0', 'fc00::/7', 'unique local: private')}`,
      `deployment/api-two-rules: ${admits('::/0', 'fe80::/10', 'link-local')}`,
      `deployment/api-two-rules: ${admits('::/0', '::1/128', 'loopback')}`,
      `deployment/api-namespace: ${https}: namespaceSelector {"matchLabels":{"kubernetes.io/metadata.name":"keycloak"}} without a podSelector admits every pod of those namespaces; name the provider's pods`,
      `deployment/api-refused-forms: ${refused('cidr 169.254.169.254/16 has bits set beyond the prefix length')}`,
      `deployment/api-refused-forms: ${refused('except ::ffff:0:0/96 is an IPv4-mapped IPv6 address')}`,
      `deployment/api-refused-forms: ${refused('except 10.0.0.0/8 is not a strict subset of ::/0')}`,
      'deployment/api-unreachable: AUTH_ISSUER is set but no egress rule allows 443/TCP: the identity provider is unreachable and every token gets 503',
    ])
  })
})

describe('assertIssuerEgress, with the development issuer of the namespace', () => {
  it("accepts one rule to the issuer Service's pods on their port, by number or name", () => {
    expect(() => assertions.assertIssuerEgress(loadFixture('issuer-egress-local.yaml'))).not.toThrow()
    expect(() => assertions.assertNetworkPolicies(loadFixture('issuer-egress-local.yaml'))).not.toThrow()
  })

  it('names each service and each reason in its broken fixture, and nothing else', () => {
    let problems: string[] = []
    try {
      assertions.assertIssuerEgress(loadFixture('issuer-egress-local-broken.yaml'))
    } catch (error) {
      problems = (error as ManifestError).problems
    }
    const at = (name: string) => `deployment/${name}: AUTH_ISSUER http://dev-issuer:3000`
    const egress = 'egress to 3000/TCP'
    expect(problems).toEqual([
      `${at('api-local-443')} is a Service of this namespace, yet an egress rule allows 443/TCP`,
      `${at('api-local-443')}: no egress rule allows 3000/TCP to its pods: every token gets 503`,
      `${at('api-local-wide')}: ${egress}: an empty podSelector admits every pod of the namespace; name the issuer's pods`,
      `${at('api-local-namespace')}: ${egress}: the issuer is a Service of this namespace: name its pods with a podSelector only, no ipBlock or namespaceSelector`,
      `${at('api-local-stack')}: ${egress}: podSelector {"matchLabels":{"app.kubernetes.io/component":"node-service"}} also admits ${['443', 'wide', 'namespace', 'stack', 'service-port', 'no-port', 'two'].map((n) => `deployment/api-local-${n}`).join(', ')}`,
      `${at('api-local-stack')}: ${egress} does not reach the pods of service/dev-issuer`,
      `${at('api-local-service-port')}: no egress rule allows 3000/TCP to its pods: every token gets 503`,
      `${at('api-local-not-admitted')}: the NetworkPolicy of its pods admits no ingress from these pods on 3000/TCP`,
      'deployment/api-local-no-port: AUTH_ISSUER http://dev-issuer:8080: service/dev-issuer has no port 8080, so the issuer is unreachable',
      `${at('api-local-two')}: 2 egress rules allow 3000/TCP; one rule, to its pods`,
      `${at('api-local-two')}: the 3000/TCP egress rule also allows 80/TCP`,
      `${at('api-local-two')}: ${egress} has no \`to\`: any address and every pod`,
    ])
  })

  it('assertNetworkPolicies refuses 443 to a service whose issuer is in the namespace', () => {
    expect(() => assertions.assertNetworkPolicies(loadFixture('issuer-egress-local-broken.yaml'))).toThrow(
      /deployment\/api-local-443: egress to 443\/TCP is allowed/,
    )
  })
})

describe('assertTraefikValues', () => {
  it('rejects values without the entryPoint and resolver the IngressRoute uses', () => {
    const values = loadTraefikValues(`${fixturesDir}traefik-values.yaml`)
    const objects = loadFixture('traefik-ingressroute.yaml')
    expect(() => assertTraefikValues(values, objects)).toThrow(
      /entryPoint https is not in ports[\s\S]*certResolver le is not in certificatesResolvers[\s\S]*service\.spec\.externalTrafficPolicy is not Local[\s\S]*deployment\.replicas must be 1/,
    )
  })
})
