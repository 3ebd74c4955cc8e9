import { beforeAll, describe, expect, it } from 'vitest'
import { assertions } from './assertions.js'
import { type K8sObject, overlays, renderOverlay } from './objects.js'
import { validateSchemas } from './schema.js'
import { assertTraefikValues, loadTraefikValues } from './traefik.js'

describe.each(overlays)('overlay %s', (overlay) => {
  let objects: K8sObject[] = []

  beforeAll(() => {
    objects = renderOverlay(overlay)
  })

  it('renders with kubectl kustomize', () => {
    expect(objects.some((o) => o.kind === 'Deployment')).toBe(true)
  })

  it('validates against the Kubernetes and Traefik schemas', () => {
    expect(() => validateSchemas(objects)).not.toThrow()
  })

  it.each(Object.entries(assertions))('%s', (_name, assertion) => {
    expect(() => assertion(objects)).not.toThrow()
  })

  it('uses only what the Traefik values provide', () => {
    expect(() => assertTraefikValues(loadTraefikValues(), objects)).not.toThrow()
  })
})
