import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { commitAll, removeRepository } from '@stack/testing/repository'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { changes, fixtureRepository, ok, run } from './repo-copy.ts'

// Generation in a fixture repository whose lists and deploy templates the test knows: the service's
// directory rendered from the templates, one line in each marked list, nothing else touched.

// A compose variable, not a JavaScript placeholder.
// biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolates it
const TAG = '${ORDERS_TAG:-local}'
let root: string
const read = (path: string) => readFileSync(join(root, path), 'utf8')
const generate = (...args: string[]) =>
  ok(run(process.execPath, [join(root, 'tooling/new-service/src/cli.ts'), ...args], root), 'new-service')

beforeAll(() => {
  root = fixtureRepository('new-service-lists-')
})
afterAll(() => removeRepository(root))

describe('pnpm new-service in a fixture repository', () => {
  it('renders orders --with-db from the templates, with the next free local ports', () => {
    const result = generate('orders', '--with-db')
    expect(result.stdout).toMatch(
      /^new-service: @stack\/orders in apps\/orders \(dev port 3001, metrics 9465, own database\)\n/,
    )
    expect(result.stdout).toContain(
      'listed it in compose.yaml, deploy/k8s/overlays/dev/kustomization.yaml, deploy/observability/prometheus.yml',
    )
    expect(read('apps/orders/compose.yaml')).toBe(
      [
        "# A stand-in for the compose part's template: what the generator needs of one.",
        'services:',
        '  orders:',
        `    image: stack/orders:${TAG}`,
        '  migrate-orders:',
        `    image: stack/orders:${TAG}`,
        '  createdb-orders:',
        '    image: postgres:18',
        '',
      ].join('\n'),
    )
    expect(read('apps/orders/k8s/kustomization.yaml')).toContain('  - name: orders-config\n')
    expect(read('apps/orders/src/config.ts')).toContain('PORT: port({ default: 3001 })')
    expect(read('apps/orders/src/config.ts')).toContain('METRICS_PORT: port({ default: 9465 })')
    expect(JSON.parse(read('apps/orders/package.json')).name).toBe('@stack/orders')
    expect(existsSync(join(root, 'apps/orders/drizzle/meta/_journal.json'))).toBe(true)
    // Outside its directory: its compose secret's development value (template/repo).
    expect(read('deploy/compose/secrets/orders-database-url.txt')).toMatch(
      /^postgres:\/\/.*@postgres:5432\/orders\n$/,
    )
    // Every placeholder and block marker is filled in.
    for (const file of ok(run('git', ['ls-files', '-o', 'apps/orders'], root), 'git ls-files').stdout.split(
      '\n',
    )) {
      if (file) expect(read(file), file).not.toMatch(/__[A-Z_]+__|\{\{[#^/]/)
    }
  })

  it("adds one line to each list, after its last item, with the marker's indentation", () => {
    expect(read('compose.yaml')).toContain(
      '  # new-service: - apps/__NAME__/compose.yaml\n  - apps/api/compose.yaml\n  - apps/orders/compose.yaml\nservices:\n',
    )
    const overlay = read('deploy/k8s/overlays/dev/kustomization.yaml')
    expect(overlay).toContain('  - ../../../../apps/api/k8s\n  - ../../../../apps/orders/k8s\nimages:\n')
    // After the whole of the last item, its deeper lines included.
    expect(overlay).toContain('  - name: stack/api\n    newTag: dev\n  - name: stack/orders\n# Only')
    expect(overlay.endsWith('\n  - api\n  - orders\n')).toBe(true)
    // After the last item, not after the comment that follows it.
    expect(read('deploy/observability/prometheus.yml')).toContain(
      '          - billing\n          - orders\n        type: A\n',
    )
    commitAll(root, 'orders')
  })

  it('leaves a {{#db}} list alone for a service without a database', () => {
    const result = generate('plain')
    expect(result.stdout).toMatch(
      /^new-service: @stack\/plain in apps\/plain \(dev port 3002, metrics 9466\)\n/,
    )
    expect(read('apps/plain/compose.yaml')).not.toContain('migrate-plain')
    expect(existsSync(join(root, 'apps/plain/drizzle'))).toBe(false)
    expect(existsSync(join(root, 'deploy/compose/secrets/plain-database-url.txt'))).toBe(false)
    expect(read('deploy/k8s/overlays/dev/kustomization.yaml').endsWith('\n  - api\n  - orders\n')).toBe(true)
    expect(read('deploy/observability/prometheus.yml')).toContain('          - orders\n          - plain\n')
    // What changed outside apps/plain: the lists, and nothing else.
    const changed = changes(root)
      .split('\n')
      .filter((line) => !line.includes('apps/plain/'))
      .map((line) => line.trim())
    expect(changed).toEqual([
      'M compose.yaml',
      'M deploy/k8s/overlays/dev/kustomization.yaml',
      'M deploy/observability/prometheus.yml',
    ])
  })
})
