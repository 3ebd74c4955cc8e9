import { describe, expect, it } from 'vitest'
import { describeHeap, v8Heap } from './v8-heap.js'

describe('v8Heap', () => {
  it('counts the old space and three semi-spaces', () => {
    const heap = v8Heap('--enable-source-maps --max-old-space-size=320 --max-semi-space-size=16')
    expect(heap).toEqual({ oldMiB: 320, semiMiB: 16, bytes: 368 * 2 ** 20 })
    expect(describeHeap(heap as Exclude<typeof heap, string>)).toBe(
      '--max-old-space-size=320 + 3 × --max-semi-space-size=16 = 368 MiB',
    )
  })
  it('names the flag that is missing', () => {
    expect(v8Heap(undefined)).toBe('NODE_OPTIONS does not set --max-old-space-size')
    expect(v8Heap('--max-old-space-size=320')).toMatch(/does not set --max-semi-space-size/)
  })
})
