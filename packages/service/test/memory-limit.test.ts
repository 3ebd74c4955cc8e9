import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { containerMemoryLimit, memoryThresholds, oldGenerationLimit, rssPressure } from '../src/index.js'

function cgroup(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'cgroup-'))
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true })
    writeFileSync(join(root, name), text)
  }
  return root
}

const MiB = 1024 * 1024

describe('containerMemoryLimit', () => {
  it('reads cgroup v2 memory.max', () => {
    expect(containerMemoryLimit(cgroup({ 'memory.max': `${512 * MiB}\n` }))).toBe(512 * MiB)
  })
  it('treats v2 "max" as no limit', () => {
    expect(containerMemoryLimit(cgroup({ 'memory.max': 'max\n' }))).toBeUndefined()
  })
  it('reads cgroup v1 memory.limit_in_bytes, ignoring its "unlimited" sentinel', () => {
    expect(containerMemoryLimit(cgroup({ 'memory/memory.limit_in_bytes': `${256 * MiB}` }))).toBe(256 * MiB)
    expect(
      containerMemoryLimit(cgroup({ 'memory/memory.limit_in_bytes': '9223372036854771712' })),
    ).toBeUndefined()
  })
  it('is undefined without cgroup files', () => {
    expect(containerMemoryLimit(cgroup({}))).toBeUndefined()
  })
})

describe('memoryThresholds', () => {
  it('derives RSS and heap limits from the container limit and the old generation', () => {
    expect(memoryThresholds({ maxRssBytes: 0, maxHeapUsedBytes: 0 }, 512 * MiB, 2048 * MiB)).toEqual({
      maxRssBytes: Math.floor(512 * MiB * 0.9),
      maxHeapUsedBytes: Math.floor(512 * MiB * 0.9),
      containerLimitBytes: 512 * MiB,
    })
    expect(
      memoryThresholds({ maxRssBytes: 0, maxHeapUsedBytes: 0 }, 1024 * MiB, 384 * MiB).maxHeapUsedBytes,
    ).toBe(Math.floor(384 * MiB * 0.9))
  })
  it('turns the RSS check off without a limit and lets explicit values win', () => {
    expect(memoryThresholds({ maxRssBytes: 0, maxHeapUsedBytes: 0 }, undefined, 100 * MiB)).toMatchObject({
      maxRssBytes: 0,
      maxHeapUsedBytes: 90 * MiB,
    })
    expect(memoryThresholds({ maxRssBytes: 5, maxHeapUsedBytes: 7 }, 512 * MiB, 100 * MiB)).toMatchObject({
      maxRssBytes: 5,
      maxHeapUsedBytes: 7,
    })
  })
})

describe('oldGenerationLimit', () => {
  // Against V8 itself: a real node started with these options, its heap_size_limit read back.
  const heapLimit = (args: string[], nodeOptions = '') =>
    Number(
      execFileSync(process.execPath, [...args, '-p', 'v8.getHeapStatistics().heap_size_limit'], {
        env: { NODE_OPTIONS: nodeOptions },
        encoding: 'utf8',
      }),
    )
  const options = (args: string[], nodeOptions: string) => [...nodeOptions.split(/\s+/), ...args]

  it.each([
    [['--max-old-space-size=96', '--max-semi-space-size=16'], '', 96],
    [['--max-old-space-size=160'], '', 160],
    [['--max-semi-space-size=8'], '--max-old-space-size=160', 160],
    [['--max-old-space-size=320'], '--max-old-space-size=100 --max-semi-space-size=2', 320],
    [['--max_old_space_size=64', '--max_semi_space_size=4'], '', 64],
  ])('is the old space V8 was given: %j, NODE_OPTIONS "%s"', (args, nodeOptions, oldMiB) => {
    const limit = heapLimit(args, nodeOptions)
    expect(limit).toBeGreaterThan(oldMiB * MiB)
    expect(oldGenerationLimit(limit, options(args, nodeOptions))).toBe(oldMiB * MiB)
  })

  it('takes 3 semi-spaces off heap_size_limit when only --max-semi-space-size is known', () => {
    // V8's own arithmetic, checked with an old space given to V8 but not to the function.
    for (const semi of [2, 8, 16, 64]) {
      const limit = heapLimit(['--max-old-space-size=128', `--max-semi-space-size=${semi}`])
      expect(oldGenerationLimit(limit, [`--max-semi-space-size=${semi}`])).toBe(128 * MiB)
    }
  })

  it('is heap_size_limit without either option, and ignores what V8 would reject', () => {
    expect(oldGenerationLimit(4288 * MiB, ['--enable-source-maps'])).toBe(4288 * MiB)
    expect(oldGenerationLimit(4288 * MiB, ['--max-old-space-size', '160', '--max-semi-space-size=x'])).toBe(
      4288 * MiB,
    )
  })
})

describe('rssPressure', () => {
  // At start: 100 MiB RSS, of which 20 MiB heap in use and 2 MiB external: 78 MiB is not JS data.
  const start = { rss: 100 * MiB, heapUsed: 20 * MiB, external: 2 * MiB }

  it('sheds while RSS and the memory in use are both over the threshold', () => {
    const check = rssPressure(160 * MiB, start)
    const spike = { rss: 190 * MiB, heapUsed: 90 * MiB, external: 10 * MiB }
    expect(check.inUse(spike)).toBe(178 * MiB)
    expect(check.isOver(spike)).toBe(true)
  })
  it('stops shedding once the memory is garbage, though RSS stays up (V8 and glibc keep the pages)', () => {
    const after = { rss: 185 * MiB, heapUsed: 25 * MiB, external: 2 * MiB }
    expect(rssPressure(160 * MiB, start).isOver(after)).toBe(false)
  })
  it('does not shed below the RSS threshold, and is off at 0', () => {
    const busy = { rss: 150 * MiB, heapUsed: 100 * MiB, external: 10 * MiB }
    expect(rssPressure(160 * MiB, start).isOver(busy)).toBe(false)
    expect(rssPressure(0, start).isOver({ rss: 2 ** 40, heapUsed: 2 ** 39, external: 0 })).toBe(false)
  })
  it('counts Buffers (external memory), not only the heap', () => {
    const buffers = { rss: 200 * MiB, heapUsed: 20 * MiB, external: 90 * MiB }
    expect(rssPressure(160 * MiB, start).isOver(buffers)).toBe(true)
  })
})
