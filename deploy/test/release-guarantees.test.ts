import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { repoRoot } from './apps.js'

// Kubernetes parity with `pnpm rollout`: both platforms' docs state the same release guarantees, as
// the same list in the same order, and each number they state is the one the config holds. The
// fields the Kubernetes guarantees rest on are checked on the rendered manifests by
// assertZeroDowntimeRollout and assertMigrationsBeforeApp (k8s/assertions); the compose ones are
// proven end to end by compose/e2e-rollout.test.ts.

const composeDoc = 'deploy/compose/README.md'
const k8sDoc = 'deploy/k8s/README.md'
const GUARANTEES = [
  'Migrate first.',
  'Start first.',
  'Ready before traffic moves.',
  'Drain.',
  'Stop on failure, roll back.',
]

function block(file: string): string {
  const text = readFileSync(join(repoRoot, file), 'utf8')
  const m = /<!-- release-guarantees:[^>]*-->\n([\s\S]*?)<!-- \/release-guarantees -->/.exec(text)
  if (!m) throw new Error(`${file} has no release-guarantees block`)
  return m[1] as string
}

/** The bold lead of each item: the guarantee's name. */
const names = (text: string) => [...text.matchAll(/^- \*\*([^*]+)\*\*/gm)].map((m) => m[1])

describe('release guarantees, Compose and Kubernetes', () => {
  it.each([composeDoc, k8sDoc])('%s states the five, in order', (file) => {
    expect(names(block(file))).toEqual(GUARANTEES)
  })

  it('both name the rollback of a bad release and the expand/contract rule', () => {
    for (const file of [composeDoc, k8sDoc]) {
      const text = block(file).replace(/\s+/g, ' ')
      expect(text, file).toContain(
        'the expand/contract rule (docs/schema-changes.md) keeps the old code working on the new schema',
      )
      expect(text, file).toMatch(/no (replica|old pod) is touched/)
    }
    expect(block(composeDoc)).toContain('pnpm rollout --to <previous tag>')
    expect(block(k8sDoc)).toContain('kubectl rollout undo')
  })

  it('the deadlines they state are the configured ones', () => {
    const deployment = parse(
      readFileSync(join(repoRoot, 'deploy/k8s/components/node-service/deployment.yaml'), 'utf8'),
    ) as { spec: { progressDeadlineSeconds: number; minReadySeconds: number } }
    const k8s = block(k8sDoc).replace(/\s+/g, ' ')
    expect(k8s).toContain(`(\`progressDeadlineSeconds\`, ${deployment.spec.progressDeadlineSeconds} s)`)
    expect(k8s).toContain(`\`minReadySeconds\` (${deployment.spec.minReadySeconds} s)`)
    const args = readFileSync(join(repoRoot, 'tooling/rollout/src/args.ts'), 'utf8')
    const timeoutMs = Number(/timeoutMs: ([\d_]+)/.exec(args)?.[1]?.replaceAll('_', ''))
    expect(block(composeDoc).replace(/\s+/g, ' ')).toContain(`(\`--timeout\`, ${timeoutMs / 1000} s)`)
  })
})
