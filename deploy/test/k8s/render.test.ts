import { describe, expect, it } from 'vitest'
import { fixturesDir, loadFixture, render } from './objects.js'
import { validateSchemas } from './schema.js'

describe('render', () => {
  it("reports a kustomization kubectl cannot build, with kubectl's reason", () => {
    expect(() => render(`${fixturesDir}broken-kustomization`)).toThrow(
      /kubectl kustomize .* failed:[\s\S]*missing\.yaml/,
    )
  })

  it('says what to install when kubectl is missing', () => {
    expect(() => render(`${fixturesDir}broken-kustomization`, 'kubectl-not-installed')).toThrow(
      /"kubectl-not-installed" was not found on PATH.*install kubectl/,
    )
  })
})

describe('validateSchemas', () => {
  it('fails on a kind no schema knows instead of skipping it', () => {
    expect(() => validateSchemas(loadFixture('schema-unknown-kind.yaml'))).toThrow(
      /deployment\/api: unknown kind app\/v1\/Deployment/,
    )
  })

  it('fails on a field of the wrong type', () => {
    expect(() => validateSchemas(loadFixture('schema-invalid.yaml'))).toThrow(
      /pod\/api: .*containerPort must be integer/,
    )
  })
})
