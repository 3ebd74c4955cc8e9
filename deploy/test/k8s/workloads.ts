import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap'
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { IContainerPort } from 'kubernetes-models/v1/ContainerPort'
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec'
import { type App, appOfImage, imageRepository } from '../apps.js'
import { configDefault } from './app.js'
import { isObject, type K8sObject, ofKind, ref } from './objects.js'

export interface Workload {
  object: K8sObject
  template: IPodTemplateSpec
}

export interface LabelSelector {
  matchLabels?: Record<string, string>
  matchExpressions?: { key: string; operator: string; values?: string[] }[]
}

const podTemplatePaths: Record<string, string[]> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
}

/** Every object that runs pods, with its pod template. */
export function workloads(objects: readonly K8sObject[]): Workload[] {
  const result: Workload[] = []
  for (const object of objects) {
    const path = podTemplatePaths[object.kind]
    if (!path) continue
    let node: unknown = object
    for (const key of path) node = isObject(node) ? node[key] : undefined
    if (isObject(node)) result.push({ object, template: node as IPodTemplateSpec })
  }
  return result
}

export function containers(w: Workload): IContainer[] {
  return w.template.spec?.containers ?? []
}

export function initContainers(w: Workload): IContainer[] {
  return w.template.spec?.initContainers ?? []
}

export { imageRepository }

/** An image built from one of the services in apps/ (stack/<name>). */
export function isAppImage(image: string | undefined): boolean {
  return appOfImage(image) !== undefined
}

export type AppWorkload = Workload & { container: IContainer; app: App }

/**
 * Workloads running one of the services in apps/ (a regular container from its image), with that
 * container and the service.
 */
export function appWorkloads(objects: readonly K8sObject[]): AppWorkload[] {
  const result: AppWorkload[] = []
  for (const w of workloads(objects)) {
    for (const container of containers(w)) {
      const app = appOfImage(container.image)
      if (app) {
        result.push({ ...w, container, app })
        break
      }
    }
  }
  return result
}

export function where(w: Workload, c?: IContainer): string {
  return c ? `${ref(w.object)} container ${c.name}` : ref(w.object)
}

export function selects(
  selector: LabelSelector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return false
  const have = labels ?? {}
  const pairs = Object.entries(selector.matchLabels ?? {})
  const expressions = selector.matchExpressions ?? []
  if (pairs.length === 0 && expressions.length === 0) return true
  if (!pairs.every(([k, v]) => have[k] === v)) return false
  return expressions.every(({ key, operator, values = [] }) => {
    const value = have[key]
    if (operator === 'In') return value !== undefined && values.includes(value)
    if (operator === 'NotIn') return value === undefined || !values.includes(value)
    if (operator === 'Exists') return value !== undefined
    if (operator === 'DoesNotExist') return value === undefined
    return false
  })
}

/** The container port a probe, Service or policy port (name or number) lands on, if any. */
export function resolvePort(
  w: Workload,
  port: string | number | undefined,
): { container: IContainer; port: IContainerPort } | undefined {
  for (const container of containers(w)) {
    for (const p of container.ports ?? []) {
      if (typeof port === 'string' ? p.name === port : p.containerPort === port) return { container, port: p }
    }
  }
  return undefined
}

/**
 * The value the app sees for `name`: the container's env, then its envFrom ConfigMaps, then the
 * default from @stack/config. Throws when a referenced ConfigMap is not rendered or nothing sets it.
 */
export function setting(objects: readonly K8sObject[], w: Workload, c: IContainer, name: string): string {
  const value = configuredSetting(objects, w, c, name) ?? configDefault(name)
  if (value === undefined)
    throw new Error(`${where(w, c)}: ${name} is not set and @stack/config has no default`)
  return value
}

/**
 * The value the manifests give `name` (the container's env, then its envFrom ConfigMaps), or
 * undefined when they leave it unset. Throws when a referenced ConfigMap is not rendered.
 */
export function configuredSetting(
  objects: readonly K8sObject[],
  w: Workload,
  c: IContainer,
  name: string,
): string | undefined {
  const configMap = (mapName: string) => {
    const map = ofKind<IConfigMap>(objects, 'ConfigMap').find((m) => m.metadata.name === mapName)
    if (!map) throw new Error(`${where(w, c)}: ConfigMap ${mapName} is referenced but not rendered`)
    return map
  }
  // `env` wins over `envFrom`; among envFrom sources the last one wins.
  const direct = c.env?.find((e) => e.name === name)
  if (direct?.value !== undefined) return direct.value
  const keyRef = direct?.valueFrom?.configMapKeyRef
  if (keyRef) {
    const value = configMap(keyRef.name ?? '').data?.[keyRef.key]
    if (value !== undefined) return value
  } else if (direct?.valueFrom) {
    throw new Error(`${where(w, c)}: ${name} comes from a source these tests cannot read`)
  }
  for (const source of [...(c.envFrom ?? [])].reverse()) {
    const mapName = source.configMapRef?.name
    if (!mapName) continue
    const value = configMap(mapName).data?.[`${source.prefix ?? ''}${name}`]
    if (value !== undefined) return value
  }
  return undefined
}

export function numericSetting(
  objects: readonly K8sObject[],
  w: Workload,
  c: IContainer,
  name: string,
): number {
  const raw = setting(objects, w, c, name)
  const value = Number(raw)
  if (!Number.isFinite(value)) throw new Error(`${where(w, c)}: ${name}=${raw} is not a number`)
  return value
}

const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 }
const decimal: Record<string, number> = { m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }

/** A Kubernetes quantity ("512Mi", "500m", "1") as a number of bytes or cores. */
export function parseQuantity(quantity: string | number): number {
  if (typeof quantity === 'number') return quantity
  const match = /^([0-9.]+)(Ki|Mi|Gi|Ti|m|k|M|G|T)?$/.exec(quantity.trim())
  if (!match) throw new Error(`cannot parse quantity "${quantity}"`)
  const unit = match[2] ?? ''
  return Number(match[1]) * (binary[unit] ?? decimal[unit] ?? Number.NaN)
}

import { parseDuration } from '../duration.js'

export { parseDuration }

/** An int-or-percent field (maxSurge, maxUnavailable) scaled to `total`, rounded up like the controllers do. */
export function scaled(value: string | number | undefined, total: number, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value === 'number') return value
  if (value.endsWith('%')) return Math.ceil((Number(value.slice(0, -1)) / 100) * total)
  return Number(value)
}
