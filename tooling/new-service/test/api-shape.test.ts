import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { templateValues } from '../src/generate.ts'
import { serviceNames } from '../src/names.ts'
import { readTemplate, render, templateDir, templateFiles } from '../src/template.ts'
import { mainRoot } from './repo-copy.ts'

// The API is an ordinary service: its deploy files are the templates rendered for name=api, env=API,
// with a database, byte for byte, and so are the code files every service has in the same shape.
// A change to one without the other fails here.

const common = join(templateDir, 'common')
const values = templateValues(serviceNames('api'), 3000, 9464)
// compose.yaml and whatever else compose reads of it (compose.env), and the kustomize directory.
const isDeployFile = (path: string) => path.startsWith('compose.') || path.startsWith('k8s/')
const deployTemplates = templateFiles(common).filter((t) => isDeployFile(t.target))
// Code the API has exactly as a generated service does (its config.ts, app.ts and tests are its own).
const SAME_CODE = ['src/server.ts', 'tsconfig.build.json', 'src/db/migrations.ts', 'drizzle.config.ts']

describe("the API's files are the templates rendered for it", () => {
  it('has deploy templates for compose and kustomize', () => {
    const targets = deployTemplates.map((t) => t.target)
    expect(targets).toContain('compose.yaml')
    expect(targets).toContain('k8s/kustomization.yaml')
  })

  it.each([...deployTemplates.map((t) => t.target), ...SAME_CODE])('apps/api/%s', (target) => {
    const source = [join(common, `${target}.tmpl`), join(templateDir, 'with-db', `${target}.tmpl`)].find(
      existsSync,
    )
    expect(source, `a template for ${target}`).toBeDefined()
    const api = join(mainRoot, 'apps/api', target)
    expect(existsSync(api), `apps/api/${target} exists`).toBe(true)
    expect(render(readTemplate(source as string), values, { db: true })).toBe(readFileSync(api, 'utf8'))
  })

  it('and the API has no deploy file of its own that no template renders', () => {
    const rendered = new Set(deployTemplates.map((t) => t.target))
    expect(apiDeployFiles().filter((f) => !rendered.has(f))).toEqual([])
  })
})

/** apps/api's deploy files: compose.* and k8s/**, as paths relative to it. */
function apiDeployFiles(): string[] {
  const dir = join(mainRoot, 'apps/api')
  const top = readdirSync(dir).filter((f) => f.startsWith('compose.'))
  const k8s = existsSync(join(dir, 'k8s'))
    ? readdirSync(join(dir, 'k8s'), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => relative(dir, join(e.parentPath, e.name)))
    : []
  return [...top, ...k8s]
}
