import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { RolloutError } from './errors.ts'

interface Holder {
  pid: number
  host: string
  project: string
  since: string
}

export interface Lock {
  path: string
  release: () => void
}

export function lockPath(project: string, dir = tmpdir()): string {
  return join(dir, `stack-rollout-${project.replace(/[^\w.-]/g, '_')}.lock`)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * One rollout at a time per project: a file created exclusively (O_EXCL), holding the pid. A lock
 * whose pid is no longer alive on this host (a rollout killed with SIGKILL, a crash) is stale and
 * taken over, so nothing stays held forever; a lock left by another host is reported, not taken.
 */
export function acquireLock(project: string, dir = tmpdir(), pid = process.pid): Lock {
  const path = lockPath(project, dir)
  const me: Holder = { pid, host: hostname(), project, since: new Date().toISOString() }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, `${JSON.stringify(me)}\n`, { flag: 'wx' })
      return {
        path,
        release: () => {
          // Only our own: a lock taken over after we were presumed dead is not ours to remove.
          if (read(path)?.pid === pid) rmSync(path, { force: true })
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = read(path)
      if (holder && (holder.host !== me.host || alive(holder.pid))) {
        throw new RolloutError(
          `another rollout of project ${project} is running (pid ${holder.pid} on ${holder.host} since ${holder.since}; lock ${path})`,
        )
      }
      // Stale (its process is gone) or unreadable (a crash between create and write): take it over.
      rmSync(path, { force: true })
    }
  }
  throw new RolloutError(`could not take the rollout lock ${path}`)
}

function read(path: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Holder
  } catch {
    return undefined
  }
}
