import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { findPromtool, required } from './promtool.js'

// The alert rules and the compose Prometheus configuration, checked by Prometheus' own promtool:
// syntax, the scrape configuration, and unit tests of the rules against synthetic series. promtool
// comes from PATH, the pinned image or the release archive (promtool.ts); that none can be had is
// tested in promtool.test.ts.

const deployDir = fileURLToPath(new URL('../../', import.meta.url))
const here = fileURLToPath(new URL('./', import.meta.url))

let found: Awaited<ReturnType<typeof findPromtool>> = { reasons: ['not looked for yet'] }
beforeAll(async () => {
  found = await findPromtool({ mount: deployDir })
  if ('route' in found) console.info(`[alerts] promtool from ${found.route}: ${found.source}`)
})

/** Runs promtool; none to be had is a failure that says how to install it, never a skip. */
function promtool(args: string[], cwd = deployDir): { status: number; output: string } {
  return required(found).run(args, cwd)
}

interface Rules {
  groups: { name: string; rules: { alert?: string; expr: string }[] }[]
}
interface UnitTests {
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[]
}

describe('alert rules (promtool)', () => {
  it('deploy/observability/alerts.yml is valid', () => {
    const { status, output } = promtool(['check', 'rules', 'observability/alerts.yml'])
    expect(output).toMatch(/SUCCESS: \d+ rules found/)
    expect(status).toBe(0)
  })

  it('deploy/observability/prometheus.yml is valid and loads the rules', () => {
    const { status, output } = promtool(['check', 'config', 'observability/prometheus.yml'])
    expect(output).toMatch(/SUCCESS: 1 rule files found/)
    expect(status).toBe(0)
  })

  it('every alert behaves as its unit tests say', () => {
    const { status, output } = promtool(['test', 'rules', 'alerts.test.yml'], here)
    expect(output).toContain('SUCCESS')
    expect(status).toBe(0)
  })

  it('every alert has a unit test in which it fires', () => {
    const rules = parse(readFileSync(`${deployDir}observability/alerts.yml`, 'utf8')) as Rules
    const tests = parse(readFileSync(`${here}alerts.test.yml`, 'utf8')) as UnitTests
    const alerts = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])))
    const firing = new Set(
      tests.tests.flatMap((t) =>
        (t.alert_rule_test ?? []).filter((a) => (a.exp_alerts ?? []).length > 0).map((a) => a.alertname),
      ),
    )
    expect(alerts.length).toBeGreaterThanOrEqual(6)
    expect(alerts.filter((a) => !firing.has(a))).toEqual([])
  })

  it('a unit test that does not hold fails the run', () => {
    const { status, output } = promtool(['test', 'rules', 'fixtures/alerts-wrong.test.yml'], here)
    expect(output).toMatch(/FAILED/)
    expect(status).not.toBe(0)
  })
})
