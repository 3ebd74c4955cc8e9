import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'

const dir = new URL('../../results/reliability/', import.meta.url)

/**
 * Prints a scenario's figures and keeps them in bench/results/reliability/<scenario>.json, from
 * which docs/reliability.md is updated.
 */
export function report(scenario: string, summary: string, figures: Record<string, unknown>): void {
  console.info(`[reliability] ${scenario}: ${summary}`)
  mkdirSync(dir, { recursive: true })
  const cpu = os.cpus()[0]?.model ?? 'unknown'
  writeFileSync(
    new URL(`${scenario}.json`, dir),
    `${JSON.stringify(
      {
        scenario,
        summary,
        date: new Date().toISOString(),
        machine: `${cpu}, ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
        node: process.versions.node,
        ...figures,
      },
      null,
      2,
    )}\n`,
  )
}
