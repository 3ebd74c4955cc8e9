import { authVars, loadConfig } from '@stack/config'
import { describe, expect, it } from 'vitest'
import { apps } from '../apps.js'
import { loadFixture, renderOverlay } from './objects.js'
import {
  acmeEmailProblems,
  productionAuthProblems,
  productionImageProblems,
  registryOf,
} from './operator-values.js'
import { loadTraefikValues } from './traefik.js'

// The committed configuration carries marked placeholders for what only the operator knows; these
// tests show that the checks refuse them by name, that replacing them is all it takes, and that the
// defects they replaced (Docker Hub's `stack` namespace, example.com) are refused too.

describe('the production image registry', () => {
  const objects = renderOverlay('prod')

  it('the prod overlay names a marked placeholder registry for every service, which the check refuses', () => {
    expect(productionImageProblems(objects).sort()).toEqual(
      apps.map(
        (a) =>
          `registry.change-me.invalid/${a.image}:0.1.0: registry.change-me.invalid is a placeholder; set your registry as newName on its line in the overlay's images: (<registry>/${a.image})`,
      ),
    )
  })

  it('with a registry set in the images: line, it passes', () => {
    const set = JSON.parse(
      JSON.stringify(objects).replaceAll('registry.change-me.invalid/', 'ghcr.io/acme/'),
    ) as typeof objects
    expect(productionImageProblems(set)).toEqual([])
  })

  it("refuses Docker Hub's stack/api, with or without docker.io", () => {
    expect(productionImageProblems(loadFixture('images-not-pinned.yaml'))).toEqual([
      "stack/api:latest: no registry, so Docker Hub, whose namespace stack this project does not own; set yours as newName on its line in the overlay's images:",
    ])
    expect(registryOf('docker.io/stack/api:1')).toBeUndefined()
    expect(registryOf('localhost:5000/stack/api:1')).toBe('localhost:5000')
    expect(registryOf('registry.internal.acme.io/stack/api:1')).toBe('registry.internal.acme.io')
  })
})

describe("the ACME e-mail in Traefik's Helm values", () => {
  const values = loadTraefikValues()

  it('is a marked placeholder, which the check refuses', () => {
    expect(acmeEmailProblems(values)).toEqual([
      "certificatesResolvers.letsencrypt.acme.email acme@change-me.invalid is a placeholder Let's Encrypt refuses (forbidden domain); set your own address",
    ])
  })

  it('with an address set it passes; example.com, a missing or malformed address are refused', () => {
    const withEmail = (email: unknown) => ({ certificatesResolvers: { le: { acme: { email } } } })
    expect(acmeEmailProblems(withEmail('ops@acme.io'))).toEqual([])
    expect(acmeEmailProblems(withEmail('ops@example.com'))).toEqual([
      "certificatesResolvers.le.acme.email ops@example.com is a placeholder Let's Encrypt refuses (forbidden domain); set your own address",
    ])
    expect(acmeEmailProblems(withEmail(undefined))).toEqual([
      'certificatesResolvers.le.acme.email is not set',
    ])
    expect(acmeEmailProblems(withEmail('ops'))).toEqual([
      'certificatesResolvers.le.acme.email "ops" is not an address',
    ])
  })
})

describe('the identity provider of the prod overlay', () => {
  const objects = renderOverlay('prod')
  const replace = (issuer: string) =>
    JSON.parse(
      JSON.stringify(objects).replaceAll('change-me-to-your-identity-provider-issuer-url', issuer),
    ) as typeof objects

  it('is a marked placeholder for every service, which the check refuses (and the service, at start: not a URL)', () => {
    expect(productionAuthProblems(objects).sort()).toEqual(
      apps.map(
        (a) =>
          `deployment/${a.name}: AUTH_ISSUER change-me-to-your-identity-provider-issuer-url is a placeholder, not a provider's https issuer URL; set it in the overlay's auth ConfigMap`,
      ),
    )
  })

  it('the placeholder stops every service at start: the same configuration check the service runs', () => {
    const configMap = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('auth-'),
    ) as unknown as {
      data: Record<string, string>
    }
    expect(() => loadConfig(authVars, { ...configMap.data, AUTH_AUDIENCE: 'api' })).toThrow(
      'invalid configuration: AUTH_ISSUER must be a URL starting with https:// or http://',
    )
  })

  it("with a provider's issuer in the ConfigMap it passes; each service's audience is its own name", () => {
    const set = replace('https://keycloak.acme.io/realms/main')
    expect(productionAuthProblems(set)).toEqual([])
    for (const app of apps) {
      const deployment = set.find(
        (o) => o.kind === 'Deployment' && o.metadata.name === app.name,
      ) as unknown as {
        metadata: { labels: Record<string, string> }
        spec: {
          template: {
            metadata: { labels: Record<string, string> }
            spec: { containers: { env: unknown[] }[] }
          }
        }
      }
      expect(deployment.spec.template.metadata.labels['app.kubernetes.io/name']).toBe(app.name)
      expect(deployment.spec.template.spec.containers[0]?.env).toContainEqual({
        name: 'AUTH_AUDIENCE',
        valueFrom: { fieldRef: { fieldPath: "metadata.labels['app.kubernetes.io/name']" } },
      })
    }
  })

  it("refuses pnpm dev's loopback issuer, plain http and an empty value", () => {
    for (const issuer of [
      'http://127.0.0.1:54330',
      'http://keycloak.acme.io/realms/main',
      'https://id.example.com/',
    ]) {
      expect(productionAuthProblems(replace(issuer))).toHaveLength(apps.length)
    }
    expect(productionAuthProblems(replace('')).sort()).toEqual(
      apps.map((a) => `deployment/${a.name}: AUTH_ISSUER is not set: authentication is off`),
    )
  })

  it('refuses the dev overlay: it runs the development issuer and every service trusts its http URL', () => {
    expect(productionAuthProblems(renderOverlay('dev')).sort()).toEqual(
      [
        'deployment/dev-issuer: the development issuer runs in production (a key anyone with kubectl exec signs with); the prod overlay must not list deploy/k8s/dev-issuer',
        ...apps.map(
          (a) =>
            `deployment/${a.name}: AUTH_ISSUER http://dev-issuer:3000 is a placeholder, not a provider's https issuer URL; set it in the overlay's auth ConfigMap`,
        ),
      ].sort(),
    )
  })
})
