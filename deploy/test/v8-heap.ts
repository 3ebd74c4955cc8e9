// One reading of NODE_OPTIONS for the compose and Kubernetes checks: how much memory V8's heap may
// take. Both generations count. The young one is three semi-spaces (Node's docs on
// --max-semi-space-size); left to its default, V8 grows it under allocation-heavy load to over
// 100 MB of committed pages it keeps (bench/test/overload.test.ts), outside --max-old-space-size.

const MiB = 2 ** 20

export interface V8Heap {
  oldMiB: number
  semiMiB: number
  /** Old space plus three semi-spaces, in bytes. */
  bytes: number
}

/** The heap NODE_OPTIONS allows, or what is missing from it. */
export function v8Heap(nodeOptions: string | undefined): V8Heap | string {
  const options = nodeOptions ?? ''
  const old = /--max-old-space-size=(\d+)/.exec(options)?.[1]
  const semi = /--max-semi-space-size=(\d+)/.exec(options)?.[1]
  if (!old) return 'NODE_OPTIONS does not set --max-old-space-size'
  if (!semi) return 'NODE_OPTIONS does not set --max-semi-space-size (the young generation is unbounded)'
  return { oldMiB: Number(old), semiMiB: Number(semi), bytes: (Number(old) + 3 * Number(semi)) * MiB }
}

/** "--max-old-space-size=320 + 3 × --max-semi-space-size=16 = 368 MiB" */
export function describeHeap(heap: V8Heap): string {
  return `--max-old-space-size=${heap.oldMiB} + 3 × --max-semi-space-size=${heap.semiMiB} = ${heap.bytes / MiB} MiB`
}
