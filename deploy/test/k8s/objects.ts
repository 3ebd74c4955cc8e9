import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'

/** A rendered Kubernetes object, as loose as the YAML it came from. */
export interface K8sObject {
  apiVersion: string
  kind: string
  metadata: {
    name: string
    namespace?: string
    labels?: Record<string, string>
    annotations?: Record<string, string>
  }
  [field: string]: unknown
}

export const k8sDir = fileURLToPath(new URL('../../k8s/', import.meta.url))
export const fixturesDir = fileURLToPath(new URL('../fixtures/k8s/', import.meta.url))
export const overlays = ['dev', 'prod'] as const

/** Parses a multi-document YAML stream; every document must be an object with apiVersion, kind and a name. */
export function parseObjects(text: string, source: string): K8sObject[] {
  const objects: K8sObject[] = []
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`)
    const value: unknown = doc.toJS()
    if (value === null || value === undefined) continue
    if (!isObject(value)) throw new Error(`${source}: a document is not a mapping`)
    const { apiVersion, kind, metadata } = value
    if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !isObject(metadata)) {
      throw new Error(`${source}: a document has no apiVersion, kind or metadata`)
    }
    if (typeof metadata.name !== 'string') throw new Error(`${source}: a ${kind} has no metadata.name`)
    objects.push(value as K8sObject)
  }
  return objects
}

/**
 * `kubectl kustomize <dir>`: the same renderer `kubectl apply -k` uses. `kubectl` is a parameter so
 * the missing-binary message can be tested.
 */
export function render(dir: string, kubectl = 'kubectl'): K8sObject[] {
  let out: string
  try {
    out = execFileSync(kubectl, ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string }
    if (e.code === 'ENOENT') {
      throw new Error(
        `"${kubectl}" was not found on PATH. The manifest tests render deploy/k8s with ` +
          '`kubectl kustomize`; install kubectl (v1.27 or later, CI has it) and run them again.',
      )
    }
    throw new Error(`kubectl kustomize ${dir} failed:\n${e.stderr?.trim() || e.message}`)
  }
  return parseObjects(out, dir)
}

export function renderOverlay(name: string): K8sObject[] {
  return render(`${k8sDir}overlays/${name}`)
}

export function loadFixture(file: string): K8sObject[] {
  return parseObjects(readFileSync(`${fixturesDir}${file}`, 'utf8'), file)
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function ref(o: K8sObject): string {
  return `${o.kind.toLowerCase()}/${o.metadata.name}`
}

export function ofKind<T>(objects: readonly K8sObject[], kind: string): (K8sObject & T)[] {
  return objects.filter((o) => o.kind === kind) as (K8sObject & T)[]
}
