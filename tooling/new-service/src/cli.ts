#!/usr/bin/env node
import { relative } from 'node:path'
import { planService, UsageError } from './generate.ts'
import { findRoot } from './repo.ts'

// `pnpm new-service <name> [--with-db]`: a new service in apps/<name>, rendered from template/, and
// one line for it in each list of services in the deploy config. Exit 0 done, 1 failure (nothing written), 2 refused (bad name or arguments;
// nothing written).

const USAGE = 'usage: pnpm new-service <name> [--with-db]'

function main(argv: string[]): number {
  const flags = argv.filter((a) => a.startsWith('-'))
  const words = argv.filter((a) => !a.startsWith('-'))
  if (flags.includes('--help') || flags.includes('-h')) {
    console.info(
      `${USAGE}\n  <name>     a DNS-1123 label, e.g. orders\n  --with-db  its own PostgreSQL database, schema and migrations`,
    )
    return 0
  }
  const unknown = flags.filter((f) => f !== '--with-db')
  if (unknown.length > 0 || words.length !== 1) {
    const what =
      unknown.length > 0
        ? `unknown option ${unknown[0]}`
        : words.length === 0
          ? 'no name given'
          : 'one name only'
    console.error(`new-service: ${what} (${USAGE})`)
    return 2
  }
  const root = findRoot(process.cwd())
  let generated: ReturnType<typeof planService>
  try {
    generated = planService(root, { name: words[0] as string, withDb: flags.includes('--with-db') })
    generated.plan.apply()
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`new-service: ${err.message}`)
      return 2
    }
    console.error(`new-service: ${(err as Error).message}; nothing was written`)
    return 1
  }

  const { names, withDb, port, metricsPort, plan, listed } = generated
  const created = [...plan.files.values()].filter((f) => f.before === undefined).length
  const at = relative(process.cwd(), root) || '.'
  console.info(
    [
      `new-service: ${names.packageName} in apps/${names.name} (dev port ${port}, metrics ${metricsPort}${withDb ? ', own database' : ''})`,
      `  created ${created} files; listed it in ${[...new Set(listed.map((l) => l.file))].join(', ') || 'no file'}`,
      '',
      'next:',
      ...[
        ['pnpm install', `links ${names.packageName} (commit the updated pnpm-lock.yaml)`],
        ['pnpm build', 'compiles it and the packages it imports'],
        [`pnpm --filter ${names.packageName} test`, 'its tests'],
        ['docker compose up -d', `curl -k https://${names.name}.localhost/v1/hello`],
        ['kubectl apply -k deploy/k8s/overlays/dev', `after loading the image stack/${names.name}:dev`],
      ].map(([command, why]) => `  ${(command as string).padEnd(42)}# ${why}`),
      ...(at === '.' ? [] : [`  (in ${at})`]),
    ].join('\n'),
  )
  return 0
}

process.exitCode = main(process.argv.slice(2))
