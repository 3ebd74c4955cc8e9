import { describe, expect, it } from 'vitest'
import { apps } from '../apps.js'
import { loadFixture, renderOverlay } from './objects.js'
import { acmeEmailProblems, productionImageProblems, registryOf } from './operator-values.js'
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
