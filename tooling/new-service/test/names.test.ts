import { symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_NAME_LENGTH, nameProblem, serviceNames } from '../src/names.ts'
import { changes, cli, commitAll, copyRepository, mainRoot, ok, removeCopy, run } from './repo-copy.ts'

describe('nameProblem', () => {
  it.each(['orders', 'order-items', 'a', 'billing2', 'x'.repeat(MAX_NAME_LENGTH)])('accepts %s', (name) => {
    expect(nameProblem(name)).toBeUndefined()
  })

  it.each([
    ['Orders', 'uppercase'],
    ['1orders', 'starts with a digit'],
    ['-orders', 'starts with -'],
    ['orders-', 'ends with -'],
    ['order_items', 'underscore'],
    ['order.items', 'dot'],
    ['', 'empty'],
    ['x'.repeat(MAX_NAME_LENGTH + 1), 'too long'],
  ])('refuses %j (%s) as not a DNS-1123 label', (name) => {
    expect(nameProblem(name)).toMatch(/is not a DNS-1123 label/)
  })

  it.each(['api', 'postgres', 'traefik', 'migrate', 'stack'])('refuses %s as reserved', (name) => {
    expect(nameProblem(name)).toBe(`"${name}" is reserved: the stack already uses it`)
  })
})

describe('serviceNames', () => {
  it('derives every name from the one given', () => {
    expect(serviceNames('order-items')).toEqual({
      name: 'order-items',
      packageName: '@stack/order-items',
      image: 'stack/order-items',
      envPrefix: 'ORDER_ITEMS',
      database: 'order_items',
      migrateService: 'migrate-order-items',
      createDatabaseService: 'createdb-order-items',
      databaseUrlSecret: 'order-items-database-url',
    })
  })
})

// The command against a copy of the repository: every refusal exits 2 with one line and leaves the
// copy exactly as it was.
describe('pnpm new-service refuses, exit 2, and changes nothing', () => {
  let root: string
  beforeAll(() => {
    root = copyRepository('new-service-names-')
    // A service generated before, committed: its names are taken now.
    ok(run(process.execPath, [cli, 'orders', '--with-db'], root), 'new-service orders')
    commitAll(root, 'orders')
  })
  afterAll(() => removeCopy(root))

  it.each([
    [['Orders'], /^new-service: "Orders" is not a DNS-1123 label/],
    [['order_items'], /is not a DNS-1123 label/],
    [['9lives'], /is not a DNS-1123 label/],
    [['api'], /^new-service: "api" is reserved/],
    [['postgres'], /"postgres" is reserved/],
    [['traefik'], /"traefik" is reserved/],
    [['migrate'], /"migrate" is reserved/],
    [['orders'], /^new-service: "orders" is taken: "orders" is already used in apps\/orders$/],
    [['createdb-orders'], /"createdb-orders" is taken: .* compose\.yaml services/],
    [['deploy'], /"deploy" is taken: "@stack\/deploy" is already used in deploy\/package\.json/],
    [['config'], /"@stack\/config" is already used in packages\/config\/package\.json/],
    [['new-service'], /"@stack\/new-service" is already used/],
    [['edge'], /"edge" is already used in compose\.yaml networks/],
    [['grafana'], /"grafana" is already used in compose\.monitoring\.yaml services/],
    [[], /^new-service: no name given \(usage: pnpm new-service <name> \[--with-db\]\)$/],
    [['a', 'b'], /one name only/],
    [['shop', '--with-database'], /unknown option --with-database/],
  ])('%j', (args, message) => {
    const result = run(process.execPath, [cli, ...args], root)
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr.trim()).toMatch(message)
    expect(changes(root)).toBe('')
  })

  it('through the root script too', () => {
    // The tool's own dependencies, from this checkout: the copy is not installed.
    symlinkSync(
      join(mainRoot, 'tooling/new-service/node_modules'),
      join(root, 'tooling/new-service/node_modules'),
    )
    const result = run('pnpm', ['--silent', 'new-service', 'Bad'], root)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/new-service: "Bad" is not a DNS-1123 label/)
    expect(changes(root)).toBe('')
  })

  it('fails with exit 1 and writes nothing when a file it must change cannot be read as expected', () => {
    // The skeleton is planned before compose.yaml is read: nothing of it may reach the disk.
    writeFileSync(join(root, 'compose.yaml'), 'services: [not, a, mapping]\n')
    commitAll(root, 'broken compose.yaml')
    const result = run(process.execPath, [cli, 'shop', '--with-db'], root)
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^new-service: .*; nothing was written\n$/)
    expect(changes(root)).toBe('')
  })
})
