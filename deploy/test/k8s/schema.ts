import * as prometheusOperator from '@kubernetes-models/prometheus-operator'
import * as traefik from '@kubernetes-models/traefik'
import * as kubernetes from 'kubernetes-models'
import { isObject, type K8sObject, ref } from './objects.js'

interface ModelClass {
  apiVersion: string
  kind: string
  new (data: unknown): { validate(): void }
}

function isModelClass(value: unknown): value is ModelClass {
  return (
    typeof value === 'function' &&
    typeof (value as Partial<ModelClass>).apiVersion === 'string' &&
    typeof (value as Partial<ModelClass>).kind === 'string'
  )
}

/**
 * Every kind kubernetes-models, @kubernetes-models/traefik and @kubernetes-models/prometheus-operator
 * (PodMonitor, PrometheusRule: deploy/k8s/monitoring) know, by `apiVersion/kind`.
 */
function buildRegistry(): Map<string, ModelClass> {
  const registry = new Map<string, ModelClass>()
  const seen = new Set<unknown>()
  const walk = (namespace: Record<string, unknown>) => {
    if (seen.has(namespace)) return
    seen.add(namespace)
    for (const value of Object.values(namespace)) {
      if (isModelClass(value)) registry.set(`${value.apiVersion}/${value.kind}`, value)
      else if (isObject(value)) walk(value)
    }
  }
  walk(kubernetes as unknown as Record<string, unknown>)
  walk(traefik as unknown as Record<string, unknown>)
  walk(prometheusOperator as unknown as Record<string, unknown>)
  return registry
}

const registry = buildRegistry()

/**
 * kustomize's secretGenerator folds base64 values into lines of 70 characters; the API server's
 * decoder (Go's base64) ignores the line breaks, the schema's `byte` format does not.
 */
function withUnfoldedBase64(object: K8sObject): K8sObject {
  if (object.kind !== 'Secret' && object.kind !== 'ConfigMap') return object
  const field = object.kind === 'Secret' ? 'data' : 'binaryData'
  const encoded = object[field]
  if (!isObject(encoded)) return object
  const unfolded = Object.fromEntries(
    Object.entries(encoded).map(([k, v]) => [k, typeof v === 'string' ? v.replace(/[\r\n]/g, '') : v]),
  )
  return { ...object, [field]: unfolded }
}

/**
 * Validates each object against the JSON schema of its kind. A kind neither package knows is an
 * error, not a skip: a typo in apiVersion would otherwise pass every test and fail at apply time.
 */
export function validateSchemas(objects: readonly K8sObject[]): void {
  const problems: string[] = []
  for (const object of objects) {
    const Model = registry.get(`${object.apiVersion}/${object.kind}`)
    if (!Model) {
      problems.push(
        `${ref(object)}: unknown kind ${object.apiVersion}/${object.kind} (no schema to validate it)`,
      )
      continue
    }
    try {
      new Model(withUnfoldedBase64(object)).validate()
    } catch (error) {
      problems.push(`${ref(object)}: ${(error as Error).message}`)
    }
  }
  if (problems.length > 0) throw new Error(`schema validation failed:\n - ${problems.join('\n - ')}`)
}
