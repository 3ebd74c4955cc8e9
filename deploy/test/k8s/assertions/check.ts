import type { IContainer } from 'kubernetes-models/v1/Container'
import type { K8sObject } from '../objects.js'
import { containers, initContainers, type Workload, workloads } from '../workloads.js'

/** Thrown by an assertion with every problem it found, one per line. */
export class ManifestError extends Error {
  constructor(
    readonly check: string,
    readonly problems: string[],
  ) {
    super(`${check}:\n - ${problems.join('\n - ')}`)
    this.name = 'ManifestError'
  }
}

export type Assertion = (objects: readonly K8sObject[]) => void

/** Collects problems; throws them all at once, under the check's name. */
export function check(name: string, collect: (problems: string[]) => void): void {
  const problems: string[] = []
  collect(problems)
  if (problems.length > 0) throw new ManifestError(name, problems)
}

/** Every container of every workload, init containers first. */
export function everyContainer(
  objects: readonly K8sObject[],
): { w: Workload; c: IContainer; init: boolean }[] {
  return workloads(objects).flatMap((w) => [
    ...initContainers(w).map((c) => ({ w, c, init: true })),
    ...containers(w).map((c) => ({ w, c, init: false })),
  ])
}
