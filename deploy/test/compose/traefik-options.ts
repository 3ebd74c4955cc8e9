import { isObject, parseDuration } from './model.js'

// The Traefik v3 options this repository may use, as documented, so that a misspelt key (Traefik
// ignores some and refuses others only at start-up, which CI cannot run here) fails a test instead.
// `<name>` stands for a name of our choosing, `[n]` for a list index. Keys are compared without
// case, as Traefik reads them. Not every documented option is listed: only the sections we touch,
// in full where a typo is likely. Add a key here, with its page, before using it.

/**
 * Static (install) configuration, given as flags.
 * https://doc.traefik.io/traefik/reference/install-configuration/configuration-options/
 * https://doc.traefik.io/traefik/reference/install-configuration/entrypoints/
 * https://doc.traefik.io/traefik/reference/install-configuration/providers/docker/
 * https://doc.traefik.io/traefik/reference/install-configuration/tls/certificate-resolvers/acme/
 */
export const STATIC_OPTIONS = [
  'global.checkNewVersion',
  'global.sendAnonymousUsage',
  'log',
  'log.level',
  'log.format',
  'log.filePath',
  'log.noColor',
  'log.maxSize',
  'log.maxAge',
  'log.maxBackups',
  'log.compress',
  'accessLog',
  'accessLog.filePath',
  'accessLog.format',
  'accessLog.bufferingSize',
  'accessLog.addInternals',
  'accessLog.filters.statusCodes',
  'accessLog.filters.retryAttempts',
  'accessLog.filters.minDuration',
  'accessLog.fields.defaultMode',
  'accessLog.fields.names.<name>',
  'accessLog.fields.headers.defaultMode',
  'accessLog.fields.headers.names.<name>',
  'api',
  'api.dashboard',
  'api.insecure',
  'api.debug',
  'api.basePath',
  'api.disableDashboardAd',
  // https://doc.traefik.io/traefik/observability/metrics/prometheus/
  'metrics.prometheus',
  'metrics.prometheus.buckets',
  'metrics.prometheus.addEntryPointsLabels',
  'metrics.prometheus.addRoutersLabels',
  'metrics.prometheus.addServicesLabels',
  'metrics.prometheus.entryPoint',
  'metrics.prometheus.manualRouting',
  'ping',
  'ping.entryPoint',
  'ping.manualRouting',
  'ping.terminatingStatusCode',
  'entryPoints.<name>.address',
  'entryPoints.<name>.asDefault',
  'entryPoints.<name>.allowACMEByPass',
  'entryPoints.<name>.reusePort',
  'entryPoints.<name>.forwardedHeaders.insecure',
  'entryPoints.<name>.forwardedHeaders.trustedIPs',
  'entryPoints.<name>.forwardedHeaders.connection',
  'entryPoints.<name>.proxyProtocol.insecure',
  'entryPoints.<name>.proxyProtocol.trustedIPs',
  'entryPoints.<name>.http.redirections.entryPoint.to',
  'entryPoints.<name>.http.redirections.entryPoint.scheme',
  'entryPoints.<name>.http.redirections.entryPoint.permanent',
  'entryPoints.<name>.http.redirections.entryPoint.priority',
  'entryPoints.<name>.http.middlewares',
  'entryPoints.<name>.http.tls',
  'entryPoints.<name>.http.tls.options',
  'entryPoints.<name>.http.tls.certResolver',
  'entryPoints.<name>.http.tls.domains[n].main',
  'entryPoints.<name>.http.tls.domains[n].sans',
  'entryPoints.<name>.http.encodeQuerySemicolons',
  'entryPoints.<name>.http.sanitizePath',
  'entryPoints.<name>.http.maxHeaderBytes',
  'entryPoints.<name>.http2.maxConcurrentStreams',
  'entryPoints.<name>.http3',
  'entryPoints.<name>.http3.advertisedPort',
  'entryPoints.<name>.transport.lifeCycle.requestAcceptGraceTimeout',
  'entryPoints.<name>.transport.lifeCycle.graceTimeOut',
  'entryPoints.<name>.transport.respondingTimeouts.readTimeout',
  'entryPoints.<name>.transport.respondingTimeouts.writeTimeout',
  'entryPoints.<name>.transport.respondingTimeouts.idleTimeout',
  'entryPoints.<name>.transport.keepAliveMaxRequests',
  'entryPoints.<name>.transport.keepAliveMaxTime',
  'entryPoints.<name>.observability.accessLogs',
  'entryPoints.<name>.observability.metrics',
  'entryPoints.<name>.observability.tracing',
  'providers.providersThrottleDuration',
  'providers.docker',
  'providers.docker.endpoint',
  'providers.docker.exposedByDefault',
  'providers.docker.network',
  'providers.docker.watch',
  'providers.docker.defaultRule',
  'providers.docker.constraints',
  'providers.docker.useBindPortIP',
  'providers.docker.allowEmptyServices',
  'providers.docker.httpClientTimeout',
  'providers.docker.tls.ca',
  'providers.docker.tls.cert',
  'providers.docker.tls.key',
  'providers.docker.tls.insecureSkipVerify',
  'providers.file.filename',
  'providers.file.directory',
  'providers.file.watch',
  'providers.file.debugLogGeneratedTemplate',
  'certificatesResolvers.<name>.acme.email',
  'certificatesResolvers.<name>.acme.storage',
  'certificatesResolvers.<name>.acme.caServer',
  'certificatesResolvers.<name>.acme.keyType',
  'certificatesResolvers.<name>.acme.certificatesDuration',
  'certificatesResolvers.<name>.acme.preferredChain',
  'certificatesResolvers.<name>.acme.tlsChallenge',
  'certificatesResolvers.<name>.acme.httpChallenge',
  'certificatesResolvers.<name>.acme.httpChallenge.entryPoint',
  'certificatesResolvers.<name>.acme.dnsChallenge',
  'certificatesResolvers.<name>.acme.dnsChallenge.provider',
  'certificatesResolvers.<name>.acme.dnsChallenge.resolvers',
  'certificatesResolvers.<name>.acme.eab.kid',
  'certificatesResolvers.<name>.acme.eab.hmacEncoded',
]

const HEADERS_OPTIONS = [
  'customRequestHeaders.<name>',
  'customResponseHeaders.<name>',
  'accessControlAllowCredentials',
  'accessControlAllowHeaders',
  'accessControlAllowMethods',
  'accessControlAllowOriginList',
  'accessControlAllowOriginListRegex',
  'accessControlExposeHeaders',
  'accessControlMaxAge',
  'addVaryHeader',
  'allowedHosts',
  'hostsProxyHeaders',
  'sslProxyHeaders.<name>',
  'stsSeconds',
  'stsIncludeSubdomains',
  'stsPreload',
  'forceSTSHeader',
  'frameDeny',
  'customFrameOptionsValue',
  'contentTypeNosniff',
  'browserXssFilter',
  'customBrowserXSSValue',
  'contentSecurityPolicy',
  'contentSecurityPolicyReportOnly',
  'publicKey',
  'referrerPolicy',
  'permissionsPolicy',
  'isDevelopment',
]

/** Only the options every v3 minor documents; the newer retry options are left out on purpose. */
const RETRY_OPTIONS = ['attempts', 'initialInterval']

/**
 * The rate limiter's options that every v3 minor documents (redis, 3.4, is left out).
 * https://doc.traefik.io/traefik/reference/routing-configuration/http/middlewares/ratelimit/
 */
const RATE_LIMIT_OPTIONS = [
  'average',
  'period',
  'burst',
  'sourceCriterion.ipStrategy.depth',
  'sourceCriterion.ipStrategy.excludedIPs',
  'sourceCriterion.requestHeaderName',
  'sourceCriterion.requestHost',
]

/**
 * Dynamic configuration, file provider.
 * https://doc.traefik.io/traefik/reference/routing-configuration/http/load-balancing/serverstransport/
 * https://doc.traefik.io/traefik/reference/routing-configuration/http/middlewares/headers/
 * https://doc.traefik.io/traefik/reference/routing-configuration/http/middlewares/retry/
 * https://doc.traefik.io/traefik/reference/routing-configuration/http/tls/tls-options/
 */
export const DYNAMIC_OPTIONS = [
  'http.serversTransports.<name>.serverName',
  'http.serversTransports.<name>.certificates',
  'http.serversTransports.<name>.insecureSkipVerify',
  'http.serversTransports.<name>.rootCAs',
  'http.serversTransports.<name>.cipherSuites',
  'http.serversTransports.<name>.minVersion',
  'http.serversTransports.<name>.maxVersion',
  'http.serversTransports.<name>.maxIdleConnsPerHost',
  'http.serversTransports.<name>.disableHTTP2',
  'http.serversTransports.<name>.forwardingTimeouts.dialTimeout',
  'http.serversTransports.<name>.forwardingTimeouts.responseHeaderTimeout',
  'http.serversTransports.<name>.forwardingTimeouts.idleConnTimeout',
  'http.serversTransports.<name>.forwardingTimeouts.readIdleTimeout',
  'http.serversTransports.<name>.forwardingTimeouts.pingTimeout',
  ...HEADERS_OPTIONS.map((o) => `http.middlewares.<name>.headers.${o}`),
  ...RETRY_OPTIONS.map((o) => `http.middlewares.<name>.retry.${o}`),
  ...RATE_LIMIT_OPTIONS.map((o) => `http.middlewares.<name>.rateLimit.${o}`),
  'tls.options.<name>.minVersion',
  'tls.options.<name>.maxVersion',
  'tls.options.<name>.cipherSuites',
  'tls.options.<name>.curvePreferences',
  'tls.options.<name>.sniStrict',
  'tls.options.<name>.alpnProtocols',
  'tls.options.<name>.clientAuth.caFiles',
  'tls.options.<name>.clientAuth.clientAuthType',
]

/**
 * Docker labels.
 * https://doc.traefik.io/traefik/reference/routing-configuration/other-providers/docker/
 * https://doc.traefik.io/traefik/reference/routing-configuration/http/load-balancing/service/
 */
export const LABEL_OPTIONS = [
  'traefik.enable',
  'traefik.docker.network',
  'traefik.http.routers.<name>.rule',
  'traefik.http.routers.<name>.entryPoints',
  'traefik.http.routers.<name>.middlewares',
  'traefik.http.routers.<name>.service',
  'traefik.http.routers.<name>.priority',
  'traefik.http.routers.<name>.tls',
  'traefik.http.routers.<name>.tls.certResolver',
  'traefik.http.routers.<name>.tls.domains[n].main',
  'traefik.http.routers.<name>.tls.domains[n].sans',
  'traefik.http.routers.<name>.tls.options',
  'traefik.http.routers.<name>.observability.accessLogs',
  'traefik.http.routers.<name>.observability.metrics',
  'traefik.http.routers.<name>.observability.tracing',
  'traefik.http.services.<name>.loadBalancer.server.port',
  'traefik.http.services.<name>.loadBalancer.server.scheme',
  'traefik.http.services.<name>.loadBalancer.serversTransport',
  'traefik.http.services.<name>.loadBalancer.passHostHeader',
  'traefik.http.services.<name>.loadBalancer.healthCheck.path',
  'traefik.http.services.<name>.loadBalancer.healthCheck.interval',
  'traefik.http.services.<name>.loadBalancer.healthCheck.timeout',
  'traefik.http.services.<name>.loadBalancer.healthCheck.hostname',
  'traefik.http.services.<name>.loadBalancer.healthCheck.port',
  'traefik.http.services.<name>.loadBalancer.healthCheck.scheme',
  'traefik.http.services.<name>.loadBalancer.healthCheck.method',
  'traefik.http.services.<name>.loadBalancer.healthCheck.status',
  'traefik.http.services.<name>.loadBalancer.healthCheck.followRedirects',
  'traefik.http.services.<name>.loadBalancer.healthCheck.headers.<name>',
  'traefik.http.services.<name>.loadBalancer.sticky.cookie',
  'traefik.http.services.<name>.loadBalancer.sticky.cookie.name',
  'traefik.http.services.<name>.loadBalancer.sticky.cookie.secure',
  'traefik.http.services.<name>.loadBalancer.sticky.cookie.httpOnly',
  'traefik.http.services.<name>.loadBalancer.sticky.cookie.sameSite',
  'traefik.http.services.<name>.loadBalancer.responseForwarding.flushInterval',
  ...HEADERS_OPTIONS.map((o) => `traefik.http.middlewares.<name>.headers.${o}`),
  ...RETRY_OPTIONS.map((o) => `traefik.http.middlewares.<name>.retry.${o}`),
  ...RATE_LIMIT_OPTIONS.map((o) => `traefik.http.middlewares.<name>.rateLimit.${o}`),
]

/** Options whose value is a Go duration. */
const DURATION_KEY = /(timeout|interval|duration|timeOut)$/i

export interface OptionSet {
  kind: string
  match(key: string): string | undefined
  nearest(key: string): string
}

function toRegExp(pattern: string): RegExp {
  const escaped = pattern
    .split(/(<name>|\[n\])/)
    .map((part) => {
      if (part === '<name>') return '[^.]+'
      if (part === '[n]') return '\\[\\d+\\]'
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
    })
    .join('')
  return new RegExp(`^${escaped}$`, 'i')
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        previous + (a[i - 1] === b[j - 1] ? 0 : 1),
      )
      previous = current
    }
  }
  return row[b.length] as number
}

export function optionSet(kind: string, patterns: string[]): OptionSet {
  const compiled = patterns.map((p) => ({ pattern: p, re: toRegExp(p) }))
  return {
    kind,
    match: (key) => compiled.find((c) => c.re.test(key))?.pattern,
    nearest: (key) => {
      const lower = key.toLowerCase()
      let best = { pattern: '', score: Number.POSITIVE_INFINITY }
      for (const { pattern } of compiled) {
        // Compare against the pattern with the key's own names filled in.
        const keyParts = key.split('.')
        const filled = pattern
          .split('.')
          .map((part, i) => (part === '<name>' ? (keyParts[i] ?? part) : part))
          .join('.')
        const score = distance(lower, filled.toLowerCase())
        if (score < best.score) best = { pattern, score }
      }
      return best.pattern
    },
  }
}

export const staticOptions = optionSet('static option', STATIC_OPTIONS)
export const dynamicOptions = optionSet('dynamic option', DYNAMIC_OPTIONS)
export const labelOptions = optionSet('label', LABEL_OPTIONS)

/** Problems with `entries` (key -> value): unknown keys, and durations that do not parse. */
export function checkOptions(set: OptionSet, entries: [string, unknown][], where: string): string[] {
  const problems: string[] = []
  for (const [key, value] of entries) {
    const pattern = set.match(key)
    if (!pattern) {
      problems.push(`${where}: unknown Traefik ${set.kind} "${key}" (did you mean "${set.nearest(key)}"?)`)
      continue
    }
    if (DURATION_KEY.test(pattern) && typeof value === 'string') {
      try {
        parseDuration(value)
      } catch {
        problems.push(`${where}: ${key}="${value}" is not a duration`)
      }
    }
  }
  return problems
}

/** Dotted paths of a YAML document; lists of scalars are leaves, lists of mappings get [n]. */
export function flatten(value: unknown, prefix = ''): [string, unknown][] {
  if (isObject(value)) {
    return Object.entries(value).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k))
  }
  if (Array.isArray(value) && value.some(isObject)) {
    return value.flatMap((v, i) => flatten(v, `${prefix}[${i}]`))
  }
  return [[prefix, value]]
}
