// Sums the Vitest JSON reports under a folder into the one line CI reads: "N passed, N failed".
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = process.argv[2]
const files = []
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) walk(path)
    else if (name.endsWith('.json')) files.push(path)
  }
}
walk(root)
let passed = 0
let failed = 0
let skipped = 0
for (const file of files) {
  const report = JSON.parse(readFileSync(file, 'utf8'))
  passed += report.numPassedTests
  failed += report.numFailedTests
  skipped += report.numPendingTests + report.numTodoTests
}
process.stdout.write(`${files.length} Vitest reports\n`)
process.stdout.write(`${passed} passed, ${failed} failed, ${skipped} skipped\n`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
