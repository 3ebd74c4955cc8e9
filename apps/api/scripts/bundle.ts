// The production entry point: dist/server.bundle.js, one ES module holding the server and every
// dependency, with the migrations it checks beside it in dist/drizzle/. Run by `pnpm build` after tsc.
//
// Why a bundle: started as dist/server.js, Node 24 spends most of a ~1.2 s start resolving modules.
// For each of drizzle-orm's ~450 `.js` files its ESM loader asks for the package scope
// (getPackageScopeConfig), which copies the package.json data with an object spread, and the spread
// runs the lazy `exports` getter: drizzle-orm's 179 KB `exports` map is JSON-parsed again for every
// module, twice (resolve and load). One file has one package scope lookup; see docs/performance.md.
//
// `node dist/server.js` keeps working (tests, `pnpm start`); images run `node dist/server.bundle.js`.
import { cp, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { migrationsFolder } from '@stack/db/migrations'
import { build, type Plugin } from 'esbuild'

const dist = (path: string) => fileURLToPath(new URL(`../dist/${path}`, import.meta.url))

// Modules that OpenTelemetry's instrumentations patch as Node loads them (require-in-the-middle):
// bundled, they would never be loaded by Node and tracing would lose their spans. Each import of
// one becomes a require() run where the import was evaluated (after server.ts has started tracing),
// resolved from dist/ at run time: these are dependencies of @stack/api.
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

// @stack/db finds its migrations beside the module that asks (see packages/db/src/migrations.ts):
// in a bundle that module is the bundle, so they go next to it.
await rm(dist('drizzle'), { recursive: true, force: true })
await cp(migrationsFolder, dist('drizzle'), { recursive: true })

const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0)
const inputs = Object.keys(result.metafile.inputs).length
console.info(`bundle: dist/server.bundle.js (${inputs} modules, ${(bytes / 1e6).toFixed(1)} MB with map)`)
