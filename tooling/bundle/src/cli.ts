#!/usr/bin/env node
// `stack-bundle`, run by every service's `build` after tsc, in the service's package directory:
// dist/server.js and every dependency as one ES module, dist/server.bundle.js, which images run.
//
// Why a bundle: started as dist/server.js, Node 24 spends most of its start resolving modules, most
// of it re-reading drizzle-orm's package.json once per module (docs/performance.md, "Start-up").
// One file has one package scope lookup.
//
// `node dist/server.js` keeps working (tests, `pnpm start`). The bundle needs nothing beside it:
// a service finds its migrations at its package root (drizzle/, one level above dist/).
import { resolve } from 'node:path'
import { build, type Plugin } from 'esbuild'

const dist = (path: string) => resolve('dist', path)

// Modules that OpenTelemetry's instrumentations patch as Node loads them (require-in-the-middle):
// bundled, they would never be loaded by Node and tracing would lose their spans. Each import of
// one becomes a require() run where the import was evaluated (after runService has started
// tracing), resolved from dist/ at run time: a service that uses one has it as a dependency.
const RUNTIME_REQUIRED = ['pg']

const requiredAtRunTime: Plugin = {
  name: 'required-at-run-time',
  setup(b) {
    const filter = new RegExp(`^(${RUNTIME_REQUIRED.join('|')})$`)
    b.onResolve({ filter }, (args) =>
      args.namespace === 'required-at-run-time'
        ? { path: args.path, external: true }
        : { path: args.path, namespace: 'required-at-run-time' },
    )
    // A CommonJS stub: esbuild evaluates it lazily, at the first import of it, and the require()
    // inside goes to the banner's createRequire, i.e. to Node (and to require-in-the-middle).
    b.onLoad({ filter: /.*/, namespace: 'required-at-run-time' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)})`,
      loader: 'js',
    }))
  },
}

const result = await build({
  entryPoints: [dist('server.js')],
  outfile: dist('server.bundle.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  plugins: [requiredAtRunTime],
  // CommonJS dependencies (fastify, pg, pino) call require(); an ES module has none of its own.
  banner: {
    js: "import { createRequire as __stackCreateRequire } from 'node:module'; const require = __stackCreateRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
})

const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0)
const inputs = Object.keys(result.metafile.inputs).length
console.info(`bundle: dist/server.bundle.js (${inputs} modules, ${(bytes / 1e6).toFixed(1)} MB with map)`)
