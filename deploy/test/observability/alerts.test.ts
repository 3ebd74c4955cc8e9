import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

// The alert rules and the compose Prometheus configuration, checked by Prometheus' own promtool:
// syntax, the scrape configuration, and unit tests of the rules against synthetic series.

const deployDir = fileURLToPath(new URL('../../', import.meta.url))
const here = fileURLToPath(new URL('./', import.meta.url))

const INSTALL_PROMTOOL =
  'promtool was not found on PATH. The alert-rule tests run it; on Debian or Ubuntu install it with ' +
  '`sudo apt-get update && sudo apt-get install -y --no-install-recommends prometheus` (the package ' +
  'ships promtool; stop the Prometheus service it starts: `sudo systemctl disable --now prometheus`), ' +
  'or put the promtool binary from a Prometheus release on PATH.'

/** Runs promtool; a missing binary is a failure that says how to install it, never a skip. */
function promtool(args: string[], cwd = deployDir, binary = 'promtool'): { status: number; output: string } {
  const result = spawnSync(binary, args, { cwd, encoding: 'utf8' })
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    throw new Error(INSTALL_PROMTOOL)
  if (result.error) throw result.error
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` }
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

  it('a missing promtool fails, saying how to install it', () => {
    expect(() => promtool(['--version'], deployDir, 'promtool-not-installed')).toThrow(
      /promtool was not found on PATH.*apt-get install -y --no-install-recommends prometheus/,
    )
  })
})
