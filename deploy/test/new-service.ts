import { execFileSync } from 'node:child_process'

// The deploy tests' services are made as a user makes them: the copy's own generator, run in the
// copy (`pnpm new-service <name> [--with-db]` is `node tooling/new-service/src/cli.ts` there), so a
// change to the templates or to a list's marker line reaches these tests as it reaches a user.

/** Runs the generator of the repository copy `root` in it; fails with its output when it refuses. */
export function newService(root: string, name: string, options: { withDb: boolean }): void {
  try {
    execFileSync(
      process.execPath,
      ['tooling/new-service/src/cli.ts', name, ...(options.withDb ? ['--with-db'] : [])],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    )
  } catch (error) {
    const e = error as { status?: number; stdout?: string; stderr?: string }
    throw new Error(`new-service ${name} exited ${e.status}:\n${e.stdout ?? ''}${e.stderr ?? ''}`)
  }
}
