// openapi-typescript (a dev dependency of apps/api, for its typed-client test) builds its output
// with TypeScript's JavaScript compiler API (ts.factory), which TypeScript 7, the native compiler
// this repository builds with, no longer has. It gets a TypeScript 5 of its own instead of the
// workspace's as a peer; nothing else sees that copy.
function readPackage(pkg) {
  if (pkg.name === 'openapi-typescript') {
    delete pkg.peerDependencies?.typescript
    pkg.dependencies = { ...pkg.dependencies, typescript: '5.9.3' }
  }
  return pkg
}

module.exports = { hooks: { readPackage } }
