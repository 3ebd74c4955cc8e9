import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import { dirname, join } from 'node:path'

export interface Machine {
  cpu: string
  cores: number
  memoryGiB: number
  kernel: string
  virtualized: boolean
}

export function machine(): Machine {
  let cpu = os.cpus()[0]?.model ?? 'unknown'
  let virtualized = false
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8')
    cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpu
    virtualized = /^flags\s*:.*\bhypervisor\b/m.test(info)
  } catch {
    // not Linux: os.cpus() it is
  }
  return {
    cpu,
    // os.cpus(), not availableParallelism(): this process is pinned to the load generator's core.
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    virtualized,
  }
}

/** Installed versions, as the API resolves its dependencies (apps/api/package.json). */
export function versions(): Record<string, string> {
  const api = createRequire(new URL('../../apps/api/package.json', import.meta.url))
  // From the package's own folder: not every package exports ./package.json.
  const version = (name: string) => {
    try {
      let dir = dirname(api.resolve(name))
      while (!existsSync(join(dir, 'package.json')) || !dir.endsWith(name)) {
        if (dirname(dir) === dir) return '?'
        dir = dirname(dir)
      }
      return String(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version)
    } catch {
      return '?'
    }
  }
  const bench = createRequire(import.meta.url)
  return {
    node: process.versions.node,
    fastify: version('fastify'),
    pg: version('pg'),
    'drizzle-orm': version('drizzle-orm'),
    autocannon: String(bench('autocannon/package.json').version),
  }
}

/** The commit measured, and whether the API's sources differed from it (others may be editing). */
export function revision(): string {
  const root = new URL('../../', import.meta.url).pathname
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim()
    const dirty = git('status', '--porcelain', '--', 'apps', 'packages') !== ''
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted changes in apps/ or packages/' : ''}`
  } catch {
    return 'unknown'
  }
}

/** 1-minute load average: other work on the machine skews every figure. */
export const loadAverage = () => Math.round((os.loadavg()[0] ?? 0) * 100) / 100
