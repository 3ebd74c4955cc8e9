import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { repoRoot } from '../apps.js'

// What `pnpm new-service` does to the Kubernetes side, reduced to what these tests need: render the
// templates of a service's kustomize directory and add one line to each list that names the
// services. The generator (tooling/new-service) does the same for real; these helpers let the
// deploy tests prove the shared config without depending on it.

export const templateDir = join(repoRoot, 'tooling/new-service/template/common/k8s')

export interface ServiceVars {
  name: string
  db: boolean
}

/** `__NAME__` and `__ENV__` substituted; `{{#db}}` / `{{^db}}` … `{{/db}}` lines kept or dropped. */
export function renderTemplate(text: string, vars: ServiceVars): string {
  const env = vars.name.toUpperCase().replaceAll('-', '_')
  const out: string[] = []
  let keep = true
  for (const line of text.split('\n')) {
    const open = /^\s*\{\{([#^])db\}\}\s*$/.exec(line)
    if (open) {
      keep = (open[1] === '#') === vars.db
      continue
    }
    if (/^\s*\{\{\/db\}\}\s*$/.test(line)) {
      keep = true
      continue
    }
    if (keep) out.push(line.replaceAll('__NAME__', vars.name).replaceAll('__ENV__', env))
  }
  return out.join('\n')
}

/** The templates rendered for `vars`, by file name (`deployment.yaml`, ...). */
export function renderServiceK8s(vars: ServiceVars): Map<string, string> {
  const files = new Map<string, string>()
  for (const file of readdirSync(templateDir)
    .filter((f) => f.endsWith('.tmpl'))
    .sort()) {
    files.set(
      file.slice(0, -'.tmpl'.length),
      renderTemplate(readFileSync(join(templateDir, file), 'utf8'), vars),
    )
  }
  return files
}

const MARKER = /^(\s*)# new-service: (.*)$/

/**
 * Adds the service to every list under deploy/k8s that names the services: below each
 * `# new-service: <item>` line, `<item>` rendered for the service goes after the last item of the
 * list (the contiguous lines that start, at the marker's indentation, with `- `).
 */
export function addToServiceLists(root: string, vars: ServiceVars): string[] {
  const changed: string[] = []
  for (const file of listFiles(join(root, 'deploy/k8s')).filter((f) => f.endsWith('.yaml'))) {
    const lines = readFileSync(file, 'utf8').split('\n')
    let edited = false
    for (let i = 0; i < lines.length; i++) {
      const marker = MARKER.exec(lines[i] ?? '')
      if (!marker) continue
      const [, indent = '', item = ''] = marker
      let end = i + 1
      while (end < lines.length && (lines[end] ?? '').startsWith(`${indent}- `)) end++
      lines.splice(end, 0, `${indent}${renderTemplate(item, vars)}`)
      edited = true
    }
    if (edited) {
      writeFileSync(file, lines.join('\n'))
      changed.push(file.slice(root.length + 1))
    }
  }
  return changed
}

/** Writes apps/<name>/k8s from the templates and lists it in the overlays. */
export function addService(root: string, vars: ServiceVars): void {
  const dir = join(root, 'apps', vars.name, 'k8s')
  mkdirSync(dir, { recursive: true })
  for (const [file, text] of renderServiceK8s(vars)) writeFileSync(join(dir, file), text)
  addToServiceLists(root, vars)
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)],
  )
}

/**
 * A copy of the working tree (what `git ls-files` lists, tracked or not ignored, as it is on disk
 * now) in a temporary directory: the shared config can be edited there without touching this one.
 */
export function copyRepository(prefix = 'k8s-shared-'): string {
  const listed = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: repoRoot,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`)
  const root = mkdtempSync(join(tmpdir(), prefix))
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    const from = join(repoRoot, file)
    if (!existsSync(from)) continue
    mkdirSync(dirname(join(root, file)), { recursive: true })
    cpSync(from, join(root, file))
  }
  return root
}
