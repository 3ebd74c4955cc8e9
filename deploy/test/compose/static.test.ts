import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { posix, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { appOfImage, apps, envPrefix } from '../apps.js'
import {
  CHECKS,
  type Context,
  context,
  isDatabaseServer,
  isDevIssuer,
  PRODUCTION_CHECKS,
} from './assertions.js'
import { checkDockerfile } from './dockerfile.js'
import {
  type Compose,
  devFiles,
  dockerAvailable,
  fixture,
  fixturesDir,
  interpolate,
  isProxy,
  loadPlain,
  loadWithDocker,
  monitoringEnv,
  monitoringFile,
  parseBytes,
  parseDuration,
  prodFiles,
  prodEnv as prodHosts,
  productionSecretsDir,
  repoRoot,
} from './model.js'

// compose.yaml (development) and compose.yaml + compose.prod.yaml (production), read by a plain YAML
// loader everywhere and by `docker compose config` where the Docker CLI exists. Every check runs on
// every model; each check is also shown failing on a small broken fixture.

const docker = dockerAvailable()
// Production reads its secrets from SECRETS_DIR, outside the repository: a temporary one here.
const secretsDir = productionSecretsDir()
afterAll(secretsDir.remove)
const prodEnv = { ...prodHosts, SECRETS_DIR: secretsDir.dir }
const models: [string, () => Compose][] = [
  ['development, plain YAML', () => loadPlain(devFiles)],
  ['production, plain YAML', () => loadPlain(prodFiles, prodEnv)],
  ...(docker
    ? ([
        ['development, docker compose config', () => loadWithDocker(devFiles)],
        ['production, docker compose config', () => loadWithDocker(prodFiles, prodEnv)],
      ] as [string, () => Compose][])
    : []),
]

describe.each(models)('%s', (label, load) => {
  const ctx: Context = context(load())
  const production = label.startsWith('production')

  it('runs Traefik, PostgreSQL and every service in apps/, each database service behind its migrator', () => {
    const all = Object.values(ctx.compose.services)
    expect(all.filter(isProxy).map((s) => s.name)).toEqual(['traefik'])
    expect(all.filter(isDatabaseServer).map((s) => s.name)).toEqual(['postgres'])
    for (const app of apps) {
      const own = all.filter((s) => appOfImage(s.image) === app)
      const replicas = own.filter((s) => s.labels['traefik.enable'] === 'true')
      const migrators = own.filter((s) => s.command.some((a) => a.includes('@stack/migrate')))
      expect(replicas.map((s) => s.name)).toEqual([app.name])
      expect(migrators).toHaveLength(app.database ? 1 : 0)
      expect(own).toHaveLength(replicas.length + migrators.length)
    }
    // The development issuer in development only (compose.prod.yaml leaves it out with a profile).
    expect(all.filter(isDevIssuer).map((s) => s.name)).toEqual(production ? [] : ['dev-issuer'])
    // Nothing else: the proxy, PostgreSQL's image (the server and one-shots that create a service's
    // database), the services' own images and the development issuer.
    expect(
      all.filter(
        (s) => !isProxy(s) && !/^postgres:/.test(s.image ?? '') && !appOfImage(s.image) && !isDevIssuer(s),
      ),
    ).toEqual([])
  })

  it.each(Object.entries(CHECKS))('%s', (_name, check) => {
    expect(check(ctx)).toEqual([])
  })

  if (production) {
    it.each(Object.entries(PRODUCTION_CHECKS))('%s', (_name, check) => {
      expect(check(ctx)).toEqual([])
    })
  } else {
    it('reads the development secrets committed in the repository, which production refuses', () => {
      expect(PRODUCTION_CHECKS.productionSecrets(ctx)).toContain(
        'secret postgres-password: deploy/compose/secrets/postgres-password.txt is inside the repository (a committed development value); set SECRETS_DIR',
      )
    })

    it('trusts the dev-issuer service, started first, which the production check refuses; each audience is its name', () => {
      const issuer = ctx.compose.services['dev-issuer']
      expect(issuer?.environment.DEV_ISSUER_URL).toBe('http://dev-issuer:3000')
      expect(PRODUCTION_CHECKS.productionAuth(ctx)).toEqual([
        'dev-issuer: the development issuer runs in production (a key anyone with docker compose exec signs with); leave it out with a profile',
        ...apps.map(
          (a) =>
            `${a.name}: AUTH_ISSUER http://dev-issuer:3000 is not a real provider's (https, a public name)`,
        ),
      ])
      for (const app of apps) {
        const service = ctx.compose.services[app.name]
        expect(service?.environment).toMatchObject({
          AUTH_ISSUER: issuer?.environment.DEV_ISSUER_URL,
          AUTH_AUDIENCE: app.name,
        })
        expect(service?.dependsOn['dev-issuer']).toBe('service_healthy')
      }
    })

    it('relies on the default certificate and a .localhost name, which the production check refuses', () => {
      expect([...PRODUCTION_CHECKS.productionTls(ctx)].sort()).toEqual(
        apps
          .flatMap((a) => [
            `router ${a.name}: Host ${a.name}.localhost is not a public name`,
            `router ${a.name}: no certificate resolver (it would serve the self-signed default certificate)`,
          ])
          .sort(),
      )
    })
  }
})

/** The routers the labels of the routed services declare. */
function labelRouters(ctx: Context): Set<string> {
  const names = new Set<string>()
  for (const s of Object.values(ctx.compose.services)) {
    for (const key of Object.keys(s.labels)) {
      const m = /^traefik\.http\.routers\.([^.]+)\./.exec(key)
      if (m) names.add(m[1] as string)
    }
  }
  return names
}

describe('loading', () => {
  /** The production environment without one variable. */
  const without = (name: string) => Object.fromEntries(Object.entries(prodEnv).filter(([k]) => k !== name))

  it('refuses production without PUBLIC_DOMAIN or ACME_EMAIL, saying which', () => {
    expect(() => loadPlain(prodFiles, without('PUBLIC_DOMAIN'))).toThrow(
      /required variable PUBLIC_DOMAIN is missing a value: set PUBLIC_DOMAIN/,
    )
    expect(() => loadPlain(prodFiles, without('ACME_EMAIL'))).toThrow(
      /required variable ACME_EMAIL is missing a value: set ACME_EMAIL/,
    )
  })

  it('production: every service is <name>.<PUBLIC_DOMAIN> unless <NAME>_HOST names it; nothing is a .localhost', () => {
    const rule = (ctx: Context, name: string) =>
      ctx.compose.services[name]?.labels[`traefik.http.routers.${name}.rule`]
    const derived = context(loadPlain(prodFiles, prodEnv))
    for (const app of apps) expect(rule(derived, app.name)).toBe(`Host(\`${app.name}.example.test\`)`)
    const hosts = Object.fromEntries(apps.map((a) => [`${envPrefix(a)}_HOST`, `${a.name}-x.example.org`]))
    const named = context(loadPlain(prodFiles, { ...prodEnv, ...hosts }))
    for (const app of apps) expect(rule(named, app.name)).toBe(`Host(\`${app.name}-x.example.org\`)`)
    expect(PRODUCTION_CHECKS.productionTls(derived)).toEqual([])
    expect(PRODUCTION_CHECKS.productionTls(named)).toEqual([])
  })

  it('refuses production without AUTH_ISSUER; every service gets it, with its own name as the audience', () => {
    expect(() => loadPlain(prodFiles, without('AUTH_ISSUER'))).toThrow(
      /required variable AUTH_ISSUER is missing a value: set AUTH_ISSUER to your identity provider's issuer URL/,
    )
    expect(() => loadPlain(prodFiles, { ...prodEnv, AUTH_ISSUER: '' })).toThrow(
      /AUTH_ISSUER is missing a value/,
    )
    const ctx = context(loadPlain(prodFiles, prodEnv))
    for (const app of apps) {
      expect(ctx.compose.services[app.name]?.environment).toMatchObject({
        AUTH_ISSUER: prodHosts.AUTH_ISSUER,
        AUTH_AUDIENCE: app.name,
      })
    }
    // The development issuer's address is not a provider production accepts.
    const dev = context(loadPlain(prodFiles, { ...prodEnv, AUTH_ISSUER: 'http://127.0.0.1:54330' }))
    expect(PRODUCTION_CHECKS.productionAuth(dev)).toEqual(
      apps.map(
        (a) =>
          `${a.name}: AUTH_ISSUER http://127.0.0.1:54330 is not a real provider's (https, a public name)`,
      ),
    )
  })

  it('refuses production without SECRETS_DIR instead of using the committed development secrets', () => {
    expect(() => loadPlain(prodFiles, without('SECRETS_DIR'))).toThrow(
      /required variable SECRETS_DIR is missing a value: set SECRETS_DIR/,
    )
  })

  it('refuses the monitoring stack without GRAFANA_HOST (no default name anyone could send)', () => {
    expect(() => loadPlain([...devFiles, monitoringFile])).toThrow(
      /required variable GRAFANA_HOST is missing a value: set GRAFANA_HOST/,
    )
  })

  it("production with monitoring: Grafana has the API's certificate resolver, strict TLS and HSTS", () => {
    const files = [...prodFiles, monitoringFile]
    const ctx = context(loadPlain(files, { ...prodEnv, ...monitoringEnv }))
    expect(labelRouters(ctx)).toEqual(new Set([...apps.map((a) => a.name), 'grafana']))
    expect(PRODUCTION_CHECKS.productionTls(ctx)).toEqual([])
    expect(PRODUCTION_CHECKS.productionSecrets(ctx)).toEqual([])
    expect(CHECKS.secretsAsFiles(ctx)).toEqual([])
    // A development name is refused in production.
    const local = context(loadPlain(files, { ...prodEnv, GRAFANA_HOST: 'grafana.localhost' }))
    expect(PRODUCTION_CHECKS.productionTls(local)).toEqual([
      'router grafana: Host grafana.localhost is not a public name',
    ])
  })

  it('redirects HTTP to the host port HTTPS_PORT publishes', () => {
    for (const port of ['443', '8443']) {
      const ctx = context(loadPlain(devFiles, { HTTPS_PORT: port }))
      expect(ctx.traefik.flags.get('entrypoints.web.http.redirections.entrypoint.to')).toBe(`:${port}`)
      expect(CHECKS.redirectToPublishedPort(ctx)).toEqual([])
    }
  })

  it.runIf(docker)('docker compose refuses the same', () => {
    expect(() => loadWithDocker(prodFiles, without('PUBLIC_DOMAIN'))).toThrow(
      /PUBLIC_DOMAIN is missing a value: set PUBLIC_DOMAIN/,
    )
    expect(() => loadWithDocker(prodFiles, without('ACME_EMAIL'))).toThrow(
      /ACME_EMAIL is missing a value: set ACME_EMAIL/,
    )
    expect(() => loadWithDocker(prodFiles, without('SECRETS_DIR'))).toThrow(
      /SECRETS_DIR is missing a value: set SECRETS_DIR/,
    )
    expect(() => loadWithDocker(prodFiles, without('AUTH_ISSUER'))).toThrow(
      /AUTH_ISSUER is missing a value: set AUTH_ISSUER to your identity provider's issuer URL/,
    )
    expect(() => loadWithDocker([...devFiles, monitoringFile])).toThrow(
      /GRAFANA_HOST is missing a value: set GRAFANA_HOST/,
    )
  })

  it.runIf(docker)('docker compose redirects to the published HTTPS port too', () => {
    const ctx = context(loadWithDocker(devFiles, { HTTPS_PORT: '8443' }))
    expect(CHECKS.redirectToPublishedPort(ctx)).toEqual([])
    expect(ctx.traefik.flags.get('entrypoints.web.http.redirections.entrypoint.to')).toBe(':8443')
  })

  it.runIf(docker)("the plain loader's merge agrees with docker compose config", () => {
    expect(loadPlain(devFiles).services).toEqual(loadWithDocker(devFiles).services)
    expect(loadPlain(prodFiles, prodEnv).services).toEqual(loadWithDocker(prodFiles, prodEnv).services)
  })

  it('interpolates like Compose', () => {
    const env = { SET: 'x', EMPTY: '' }
    // Compose's syntax, written as plain strings on purpose.
    const $ = (body: string) => `\${${body}}`
    expect(interpolate(`${$('SET')}-${$('UNSET:-d')}-${$('EMPTY:-e')}-${$('EMPTY-f')}-$$SET-$SET`, env)).toBe(
      'x-d-e--$SET-x',
    )
    expect(interpolate(`${$('SET:+alt')}${$('UNSET:+alt')}`, env)).toBe('alt')
    expect(() => interpolate($('EMPTY:?needed here'), env)).toThrow(
      'required variable EMPTY is missing a value: needed here',
    )
  })

  it('reads durations and sizes as Compose and Traefik write them', () => {
    expect(parseDuration('1m30s')).toBe(90_000)
    expect(parseDuration('1.5s')).toBe(1500)
    expect(parseDuration('1500ms')).toBe(1500)
    expect(parseDuration('10')).toBe(10_000)
    expect(() => parseDuration('fast')).toThrow('"fast" is not a duration')
    expect(parseBytes('512M')).toBe(512 * 1024 * 1024)
    expect(parseBytes('268435456')).toBe(268_435_456)
  })

  it('production can keep the secret files outside the repository (SECRETS_DIR)', () => {
    const compose = loadPlain(devFiles, { SECRETS_DIR: '/etc/stack-secrets' })
    expect(compose.secrets['api-database-url']?.file).toBe('/etc/stack-secrets/api-database-url.txt')
    const problems = CHECKS.secretsAsFiles(context(compose))
    expect(problems).toContain(
      'secret postgres-password: /etc/stack-secrets/postgres-password.txt does not exist',
    )
    expect(problems).toContain(
      'secret api-database-url: /etc/stack-secrets/api-database-url.txt does not exist',
    )
    // And every other secret (a generated service's database URL) is looked for there too.
    expect(problems).toEqual(
      Object.keys(compose.secrets).map(
        (name) => `secret ${name}: /etc/stack-secrets/${name}.txt does not exist`,
      ),
    )
  })

  it('the secrets are consistent: each database URL carries the password PostgreSQL is given', () => {
    const secrets = loadPlain(devFiles).secrets
    const password = readFileSync(secrets['postgres-password']?.file as string, 'utf8').trim()
    const urls = Object.keys(secrets).filter((name) => name.endsWith('database-url'))
    expect(urls.sort()).toEqual(apps.filter((a) => a.database).map((a) => `${a.name}-database-url`))
    for (const name of urls) {
      const url = new URL(readFileSync(secrets[name]?.file as string, 'utf8').trim())
      expect(decodeURIComponent(url.password)).toBe(password)
      expect(url.hostname).toBe('postgres')
    }
  })
})

describe('the one Dockerfile of every service in apps/', () => {
  const composed = loadPlain(devFiles).services
  const text = readFileSync(resolve(repoRoot, 'Dockerfile'), 'utf8')
  it.each(apps.map((a) => [a.name, a] as const))('follows the container conventions for %s', (name) => {
    // EXPOSE and the health check's port: the one compose gives the service, else the app default.
    const port = composed[name]?.environment.PORT
    expect(checkDockerfile(text, port)).toEqual([])
  })

  it('no service keeps a Dockerfile of its own, and the image names no service', () => {
    for (const app of apps) expect(existsSync(resolve(repoRoot, `apps/${app.name}/Dockerfile`))).toBe(false)
    const instructions = text.split('\n').filter((l) => !/^\s*#/.test(l))
    expect(instructions.filter((l) => /@stack\/(api|orders)\b|\bapps\/api\b/.test(l))).toEqual([])
  })

  it('every workspace bin that is a committed file is committed executable', () => {
    // The image installs from the package.json files before it copies the sources, so pnpm links a
    // bin whose file is not there yet and cannot make it executable: a build that runs it (every
    // service's `stack-bundle`) gets "Permission denied" (exit 126) unless git keeps the mode.
    const listed = execFileSync('git', ['ls-files', '-s', '-z'], { cwd: repoRoot, encoding: 'utf8' })
    const modes = new Map(
      listed
        .split('\0')
        .filter(Boolean)
        .map((entry) => [entry.slice(entry.indexOf('\t') + 1), entry.slice(0, 6)] as const),
    )
    const bins = [...modes.keys()]
      .filter((f) => /^[^/]+\/[^/]+\/package\.json$/.test(f))
      .flatMap((manifest) => {
        const { bin } = JSON.parse(readFileSync(resolve(repoRoot, manifest), 'utf8')) as {
          bin?: string | Record<string, string>
        }
        const targets = typeof bin === 'string' ? [bin] : Object.values(bin ?? {})
        return targets.map((t) => posix.join(posix.dirname(manifest), t)).filter((f) => modes.has(f))
      })
    expect(bins).toContain('tooling/bundle/src/cli.ts')
    expect(bins.filter((f) => modes.get(f) !== '100755')).toEqual([])
  })

  it('fails an unpinned, root, shell-form Dockerfile', () => {
    expect(checkDockerfile(readFileSync(fixture('Dockerfile.unpinned'), 'utf8'))).toEqual([
      'a "# syntax=" line makes BuildKit pull a frontend image',
      'line 2: FROM node:latest is not a build argument (no mirror can be given)',
      'line 2: base image node:latest is not pinned by a tag',
      'line 4: FROM node is not a build argument (no mirror can be given)',
      'line 4: base image node is not pinned by a tag',
      'the runtime stage runs as root',
      'CMD is not an exec-form ["node", ...] array',
      'the HEALTHCHECK needs curl or wget',
      'EXPOSE 8080 does not match PORT 3000',
    ])
  })
})

// Each check against a fixture that breaks it, with the exact sentences it must produce.
const broken: [keyof typeof CHECKS | keyof typeof PRODUCTION_CHECKS, string, string[]][] = [
  [
    'rateLimited',
    'rate-limit-missing.yaml',
    [
      'router api: no rateLimit middleware',
      'router web: rateLimit average is not above 0',
      'router web: rateLimit groups by host or header, not by client IP',
    ],
  ],
  [
    'pinnedImages',
    'images-unpinned.yaml',
    ['db: image "postgres:latest" uses the floating tag latest', 'cache: image "redis" has no tag'],
  ],
  [
    'onlyProxyPublishes',
    'ports-published.yaml',
    ['postgres: publishes 5432; only the proxy may publish ports', 'traefik: does not publish port 443'],
  ],
  [
    'readinessProbes',
    'readiness-on-liveness.yaml',
    [
      'api: the Docker healthcheck does not probe /health/ready',
      'Traefik service api: health check path is /health/live, not /health/ready',
    ],
  ],
  [
    'routerReferences',
    'router-dangling.yaml',
    [
      'router api: entry point "webs" is not defined',
      'router api: middleware "retry" is not defined',
      'router api: middleware "headers@file" is not defined in the file provider',
      'router api: middleware "auth@kubernetescrd" names provider "kubernetescrd", which is not configured',
      'router api: certificate resolver "le" is not defined',
      'router api: TLS options "modern@file" is not defined in the file provider',
      'Traefik service api: serversTransport "slow@file" is not defined in the file provider',
    ],
  ],
  [
    'servicePort',
    'port-mismatch.yaml',
    ['api: traefik.http.services.api.loadbalancer.server.port=8080, but the API listens on 3000'],
  ],
  [
    'stopGracePeriod',
    'grace-short.yaml',
    ['api: stop_grace_period 15 s is not above SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS (15 s)'],
  ],
  [
    'readinessDetection',
    'detection-slow.yaml',
    [
      'api: Docker health (interval x retries + timeout + provider throttle = 19 s) does not notice a draining replica within SHUTDOWN_DELAY_MS (5 s)',
      "api: Traefik's health check of api (interval + timeout = 15 s) does not notice a draining replica within SHUTDOWN_DELAY_MS (5 s)",
    ],
  ],
  [
    'migrateGatesApi',
    'migrate-not-gating.yaml',
    [
      'migrate: restart is "on-failure", not "no"',
      'migrate: does not wait for postgres to be healthy',
      'api: does not wait for migrate to complete successfully',
      'api: runs stack/api:local, but migrate runs stack/api:old; they must be one image',
    ],
  ],
  [
    'secretsAsFiles',
    'secrets-inline.yaml',
    [
      'secret session-key: is not a file (environment or content)',
      'postgres: POSTGRES_PASSWORD is set inline; give POSTGRES_PASSWORD_FILE and a secret',
      'api: DATABASE_URL is set inline; give DATABASE_URL_FILE and a secret',
      'api: DATABASE_URL holds credentials in a URL',
      'api: SESSION_KEY_FILE=/etc/session-key is not one of its secrets (/run/secrets/<name>)',
    ],
  ],
  [
    'upstreamIdleTimeout',
    'idle-timeout-default.yaml',
    [
      "api: Traefik's idleConnTimeout (90 s, default) is not below KEEP_ALIVE_TIMEOUT_MS (65 s) for port 3000",
    ],
  ],
  [
    'heapBelowLimit',
    'heap-above-limit.yaml',
    [
      'api: --max-old-space-size=256 + 3 × --max-semi-space-size=8 = 280 MiB is above 80 % of the 256 MiB memory limit',
      'migrate: has no memory limit',
    ],
  ],
  [
    'hardening',
    'not-hardened.yaml',
    [
      'api: root filesystem is writable (read_only)',
      'api: no tmpfs at /tmp',
      'api: capabilities are not dropped (cap_drop: [ALL])',
      'api: no-new-privileges is not set',
      'api: has no CPU limit',
    ],
  ],
  [
    'logRotation',
    'logs-unrotated.yaml',
    ['postgres: logs are not rotated (json-file with max-size, or local)'],
  ],
  ['trustProxy', 'trust-proxy-off.yaml', ['api: TRUST_PROXY is off behind Traefik']],
  [
    'traefikKeys',
    'traefik-typos.yaml',
    [
      'traefik flags: unknown Traefik static option "entryPoints.websecure.transport.lifeCycle.graceTimout" (did you mean "entryPoints.<name>.transport.lifeCycle.graceTimeOut"?)',
      `${fixturesDir}traefik-typos.dynamic.yml: unknown Traefik dynamic option "http.serversTransports.api.forwardingTimeouts.idleConnTimout" (did you mean "http.serversTransports.<name>.forwardingTimeouts.idleConnTimeout"?)`,
      'api labels: unknown Traefik label "traefik.http.services.api.loadbalancer.healtcheck.path" (did you mean "traefik.http.services.<name>.loadBalancer.healthCheck.path"?)',
      'api labels: traefik.http.services.api.loadbalancer.healthcheck.interval="fast" is not a duration',
    ],
  ],
  [
    'fileProviderSeesEdits',
    'file-provider-single-file.yaml',
    [
      'traefik: providers.file.filename /etc/traefik/dynamic.yml is a bind-mounted file, whose replacement the watch never sees; mount its directory and set providers.file.directory',
    ],
  ],
  [
    'redirectToPublishedPort',
    'redirect-unpublished.yaml',
    [
      'traefik: entry point web redirects to port 443, but websecure is published on host port 8443',
      'traefik: entry point alt redirects to port 443, but websecure is published on host port 8443',
    ],
  ],
  [
    'pingAnswersWhileDraining',
    'ping-closes.yaml',
    [
      'traefik: the ping entry point traefik has no requestAcceptGraceTimeout, so it closes at SIGTERM and ping.terminatingStatusCode is never answered',
    ],
  ],
  [
    'emptyServicesAnswer503',
    'empty-services-404.yaml',
    [
      'traefik: providers.docker.allowEmptyServices is not true, so when every replica of api is unhealthy its router disappears and clients get 404 instead of 503',
    ],
  ],
  [
    'productionAuth',
    'prod-auth-off.yaml',
    [
      'dev-issuer: the development issuer runs in production (a key anyone with docker compose exec signs with); leave it out with a profile',
      'open: AUTH_ISSUER is unset: authentication is off',
      "laptop: AUTH_ISSUER http://127.0.0.1:54330 is not a real provider's (https, a public name)",
      'nameless: AUTH_AUDIENCE is unset',
    ],
  ],
  [
    'productionSecrets',
    'prod-secrets-in-repo.yaml',
    [
      'secret database-url: secrets/database-url.txt is inside the repository (a committed development value); set SECRETS_DIR',
    ],
  ],
  [
    'dynamicConfigMounted',
    'dynamic-unguarded.yaml',
    [
      'traefik: /etc/traefik/dynamic.yml is mounted writable',
      'traefik: the Docker socket is mounted writable',
      'traefik: providers.docker.exposedByDefault is not false',
    ],
  ],
  [
    'productionTls',
    'prod-default-certificate.yaml',
    [
      'router plain: no certificate resolver (it would serve the self-signed default certificate)',
      'resolver le: storage /acme.json is not on a volume (certificates lost on restart)',
      'router acme: no middleware sets Strict-Transport-Security',
      'router acme: TLS options without sniStrict',
    ],
  ],
]

describe('each check fails on its broken fixture', () => {
  const all = { ...CHECKS, ...PRODUCTION_CHECKS }

  it('every check has a fixture', () => {
    expect(new Set(broken.map(([name]) => name))).toEqual(new Set(Object.keys(all)))
  })

  it.each(broken)('%s: %s', (name, file, problems) => {
    const ctx = context(loadPlain([file], {}, fixturesDir))
    expect(all[name](ctx)).toEqual(problems)
  })

  it('pingAnswersWhileDraining: a ping entry point that stops accepting before the others', () => {
    const ctx = context(loadPlain(['ping-short.yaml'], {}, fixturesDir))
    expect(CHECKS.pingAnswersWhileDraining(ctx)).toEqual([
      'traefik: the ping entry point probe stops accepting after 1 s, before the others (3 s)',
    ])
  })

  it("productionTls: a router takes its entry point's TLS and HSTS unless it sets tls labels of its own", () => {
    const ctx = context(loadPlain(['prod-router-opts-out.yaml'], {}, fixturesDir))
    expect(PRODUCTION_CHECKS.productionTls(ctx)).toEqual([
      'router grafana: Host grafana.localhost is not a public name',
      'router grafana: no certificate resolver (it would serve the self-signed default certificate)',
    ])
  })
})
