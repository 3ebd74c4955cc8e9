import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { canRun, packagedBinaries, reachableBinaries, runAs } from '../src/embedded-binaries.js'
import { startEmbedded } from '../src/embedded-server.js'
import { freePort } from '../src/free-port.js'
import { serverVersion } from './server-version.js'

// A checkout in a directory other users cannot enter (`mktemp -d`, `/root/...`): as root, the
// embedded server runs as `postgres`, which cannot reach the binaries installed in the checkout.
// The binaries are copied into such a directory here, as they would be in a closed checkout.
// CI runs as root, where this is the case that matters; run by another user the same steps must
// work too (the user owns the directory), and the assertions say which case ran.

const root = process.getuid?.() === 0
let closed: string
let binaries: string

beforeAll(async () => {
  closed = await mkdtemp(join(tmpdir(), 'stack-closed-checkout-')) // mode 0700, as mktemp -d makes it
  binaries = join(closed, 'native')
  await cp(packagedBinaries().dir, binaries, { recursive: true, verbatimSymlinks: true })
})
afterAll(() => rm(closed, { recursive: true, force: true }))

describe('embedded PostgreSQL from a checkout other users cannot enter', () => {
  it(`the server's user ${root ? 'cannot' : 'can'} run the binaries where they are`, () => {
    expect(canRun(binaries, runAs())).toBe(!root)
  })

  it('starts, answers, stops and starts again on the same URL', async () => {
    const server = await startEmbedded({ port: await freePort(), flags: [], binaries })
    try {
      expect(await serverVersion(server.url)).toMatch(/^18\./)
      await server.stop()
      await server.start()
      expect(await serverVersion(server.url)).toMatch(/^18\./)
    } finally {
      await server.destroy()
    }
  })

  it(
    root
      ? 'fails at once, saying why, when no directory the postgres user can enter is to be had'
      : 'runs the binaries in place, without copying them',
    async () => {
      // The copy goes into the closed directory itself, which the postgres user cannot enter either.
      const packaged = { dir: binaries, version: packagedBinaries().version }
      const found = reachableBinaries(packaged, runAs(), closed)
      if (root) {
        await expect(found).rejects.toThrow(
          /^embedded PostgreSQL: the postgres user can run neither .*TEST_PG_BACKEND=container$/,
        )
      } else {
        await expect(found).resolves.toBe(binaries)
      }
    },
  )
})
