import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { commitAll, removeRepository } from '@stack/testing/repository'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_NAME_LENGTH, nameProblem, serviceNames } from '../src/names.ts'
import { changes, fixtureRepository, ok, run } from './repo-copy.ts'

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
      envPrefix: 'ORDER_ITEMS',
    })
  })
})

// The command against a fixture repository: every refusal exits 2 with one line and leaves the
// repository exactly as it was.
describe('pnpm new-service refuses, exit 2, and changes nothing', () => {
  let root: string
  const cliIn = () => join(root, 'tooling/new-service/src/cli.ts')
  beforeAll(() => {
    root = fixtureRepository('new-service-names-')
    // A service generated before, committed: its names are taken now.
    ok(run(process.execPath, [cliIn(), 'orders', '--with-db'], root), 'new-service orders')
    // What a service removed by hand may leave behind.
    writeFileSync(join(root, 'deploy/compose/secrets/shop-database-url.txt'), 'postgres://left/over\n')
    // A directory git does not list (only ignored files in it) is there all the same.
    mkdirSync(join(root, 'apps/stale/node_modules'), { recursive: true })
    commitAll(root, 'orders')
  })
  afterAll(() => removeRepository(root))

  it.each([
    [['Orders'], /^new-service: "Orders" is not a DNS-1123 label/],
    [['order_items'], /is not a DNS-1123 label/],
    [['9lives'], /is not a DNS-1123 label/],
    [['api'], /^new-service: "api" is reserved/],
    [['postgres'], /"postgres" is reserved/],
    [['traefik'], /"traefik" is reserved/],
    [['migrate'], /"migrate" is reserved/],
    [['orders'], /^new-service: "orders" is taken: "orders" is already used in apps\/orders$/],
    // Its compose service would be createdb-orders: orders' one-shot has that name already.
    [
      ['createdb-orders'],
      /^new-service: "createdb-orders" is taken: "createdb-orders" is already used in apps\/orders\/compose\.yaml$/,
    ],
    [['deploy'], /"deploy" is taken: "@stack\/deploy" is already used in deploy\/package\.json$/],
    [['config'], /"@stack\/config" is already used in packages\/config\/package\.json$/],
    [['new-service'], /"@stack\/new-service" is already used in tooling\/new-service\/package\.json$/],
    [['edge'], /"edge" is taken: "edge" is already used in compose\.yaml$/],
    [['grafana'], /"grafana" is already used in compose\.monitoring\.yaml$/],
    [['loki'], /"loki" is taken: the variable LOKI_TAG is already used in compose\.monitoring\.yaml$/],
    [['stale'], /^new-service: "stale" is taken: "stale" is already used in apps\/stale$/],
    [['shop', '--with-db'], /"shop" is taken: deploy\/compose\/secrets\/shop-database-url\.txt exists$/],
    [['billing'], /"billing" is taken: deploy\/observability\/prometheus\.yml already lists "- billing"$/],
    [[], /^new-service: no name given \(usage: pnpm new-service <name> \[--with-db\]\)$/],
    [['a', 'b'], /one name only/],
    [['shop', '--with-database'], /unknown option --with-database/],
  ])('%j', (args, message) => {
    const result = run(process.execPath, [cliIn(), ...args], root)
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr.trim()).toMatch(message)
    expect(changes(root)).toBe('')
  })

  it('through the root script too', () => {
    const result = run('pnpm', ['--silent', 'new-service', 'Bad'], root)
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/new-service: "Bad" is not a DNS-1123 label/)
    expect(changes(root)).toBe('')
  })

  it('fails with exit 1 and writes nothing when a list cannot be filled', () => {
    // The service's files are planned before the lists are read: nothing of them may reach the disk.
    appendFileSync(join(root, 'compose.yaml'), 'volumes:\n  # new-service: - __NAME__-__NO_SUCH_VALUE__\n')
    commitAll(root, 'a marker with an unknown placeholder')
    const result = run(process.execPath, [cliIn(), 'cart', '--with-db'], root)
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('new-service: template: no value for __NO_SUCH_VALUE__; nothing was written\n')
    expect(changes(root)).toBe('')
  })
})
