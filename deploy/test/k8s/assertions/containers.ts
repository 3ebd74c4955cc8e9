import type { ISecret } from 'kubernetes-models/v1/Secret'
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount'
import { appOfImage } from '../../apps.js'
import { describeHeap, v8Heap } from '../../v8-heap.js'
import { app } from '../app.js'
import { type K8sObject, ofKind } from '../objects.js'
import { isAppImage, parseQuantity, where, workloads } from '../workloads.js'
import { check, everyContainer } from './check.js'

// What every container and pod must have, whatever it runs.

/** No `:latest`, no untagged image: what runs must be what was reviewed. */
export function assertImagesPinned(objects: readonly K8sObject[]): void {
  check('images must be pinned', (problems) => {
    for (const { w, c } of everyContainer(objects)) {
      const image = c.image ?? ''
      if (image.includes('@sha256:')) continue
      const tag = /:([^/:]+)$/.exec(image)?.[1]
      if (!tag) problems.push(`${where(w, c)}: image "${image}" has no tag`)
      else if (tag === 'latest') problems.push(`${where(w, c)}: image "${image}" uses :latest`)
    }
  })
}

/** Startup, liveness and readiness on every long-running container (init containers run to completion). */
export function assertProbesPresent(objects: readonly K8sObject[]): void {
  check('every container needs startup, liveness and readiness probes', (problems) => {
    for (const { w, c, init } of everyContainer(objects)) {
      if (init) continue
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
        if (!c[probe]) problems.push(`${where(w, c)}: has no ${probe}`)
      }
    }
  })
}

/** Requests (for scheduling and the HPA) and limits (so one pod cannot starve a node), init containers too. */
export function assertResources(objects: readonly K8sObject[]): void {
  check('every container needs CPU and memory requests and limits', (problems) => {
    for (const { w, c } of everyContainer(objects)) {
      for (const kind of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory']) {
          if (c.resources?.[kind]?.[resource] === undefined) {
            problems.push(`${where(w, c)}: no ${kind}.${resource}`)
          }
        }
      }
      const request = c.resources?.requests?.memory
      const limit = c.resources?.limits?.memory
      if (request !== undefined && limit !== undefined && parseQuantity(request) > parseQuantity(limit)) {
        problems.push(`${where(w, c)}: memory request ${request} is above its limit ${limit}`)
      }
    }
  })
}

/** The restricted profile: non-root, seccomp, no privilege escalation, read-only root, no capabilities. */
export function assertSecurityContext(objects: readonly K8sObject[]): void {
  check('every container needs the full security context', (problems) => {
    for (const { w, c } of everyContainer(objects)) {
      const pod = w.template.spec?.securityContext ?? {}
      const own = c.securityContext ?? {}
      const at = where(w, c)
      if ((own.runAsNonRoot ?? pod.runAsNonRoot) !== true) problems.push(`${at}: runAsNonRoot is not true`)
      if ((own.runAsUser ?? pod.runAsUser) === 0) problems.push(`${at}: runs as uid 0`)
      const seccomp = (own.seccompProfile ?? pod.seccompProfile)?.type
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') {
        problems.push(`${at}: seccompProfile is ${seccomp ?? 'unset'}, not RuntimeDefault`)
      }
      if (own.allowPrivilegeEscalation !== false)
        problems.push(`${at}: allowPrivilegeEscalation is not false`)
      if (own.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem is not true`)
      if (!own.capabilities?.drop?.includes('ALL')) problems.push(`${at}: capabilities do not drop ALL`)
      if ((own.capabilities?.add ?? []).length > 0) problems.push(`${at}: adds capabilities`)
      if (own.privileged === true) problems.push(`${at}: is privileged`)
    }
  })
}

/** Each `<NAME>_FILE` points into a mounted Secret that has the key (when the Secret is rendered). */
export function assertSecretFiles(objects: readonly K8sObject[]): void {
  check('*_FILE variables must point to a mounted Secret key', (problems) => {
    const secrets = ofKind<ISecret>(objects, 'Secret')
    for (const { w, c } of everyContainer(objects)) {
      const names = new Set((c.env ?? []).map((e) => e.name))
      // A service with a database (apps.ts) needs its URL, in its replicas and its migrator alike.
      if (appOfImage(c.image)?.database && !names.has('DATABASE_URL') && !names.has('DATABASE_URL_FILE')) {
        problems.push(`${where(w, c)}: gets neither DATABASE_URL nor DATABASE_URL_FILE`)
      }
      for (const env of c.env ?? []) {
        if (!env.name.endsWith('_FILE') || env.value === undefined) continue
        const path = env.value
        const mount = (c.volumeMounts ?? []).find((m) =>
          path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`),
        )
        const volume = w.template.spec?.volumes?.find((v) => v.name === mount?.name)
        if (!mount || !volume?.secret) {
          problems.push(`${where(w, c)}: ${env.name}=${path} is not inside a mounted Secret`)
          continue
        }
        const file = path.slice(mount.mountPath.replace(/\/$/, '').length + 1)
        const items = volume.secret.items
        const key = items ? items.find((i) => i.path === file)?.key : file
        if (!key) {
          problems.push(
            `${where(w, c)}: ${env.name}=${path}: Secret volume ${volume.name} has no item at ${file}`,
          )
          continue
        }
        const secret = secrets.find((s) => s.metadata.name === volume.secret?.secretName)
        if (secret && secret.data?.[key] === undefined && secret.stringData?.[key] === undefined) {
          problems.push(`${where(w, c)}: ${env.name}: Secret ${secret.metadata.name} has no key ${key}`)
        }
      }
    }
  })
}

/** V8's heap limit must sit well inside the cgroup limit, or the OOM killer fires before the GC. */
export function assertHeapFitsMemoryLimit(objects: readonly K8sObject[]): void {
  check('NODE_OPTIONS must size both V8 generations to fit the memory limit', (problems) => {
    for (const { w, c } of everyContainer(objects)) {
      if (!isAppImage(c.image)) continue
      const heap = v8Heap(c.env?.find((e) => e.name === 'NODE_OPTIONS')?.value)
      const limit = c.resources?.limits?.memory
      if (typeof heap === 'string') {
        problems.push(`${where(w, c)}: ${heap}`)
        continue
      }
      if (limit === undefined) continue // assertResources reports it
      if (heap.bytes > parseQuantity(limit) * app.heapShare) {
        problems.push(
          `${where(w, c)}: ${describeHeap(heap)} is above ${app.heapShare * 100} % of the ${limit} limit`,
        )
      }
    }
  })
}

/** No pod gets a Kubernetes API token it does not use. */
export function assertNoServiceAccountToken(objects: readonly K8sObject[]): void {
  check('service account tokens must not be mounted', (problems) => {
    const accounts = ofKind<IServiceAccount>(objects, 'ServiceAccount')
    for (const w of workloads(objects)) {
      const spec = w.template.spec
      const name = spec?.serviceAccountName ?? 'default'
      const account = accounts.find((a) => a.metadata.name === name)
      if (name === 'default') problems.push(`${where(w)}: runs as the default ServiceAccount`)
      // The pod's own setting wins over its ServiceAccount's; unset on both means mounted.
      const mounted = spec?.automountServiceAccountToken ?? account?.automountServiceAccountToken ?? true
      if (mounted !== false) {
        problems.push(
          `${where(w)}: the token is mounted (set automountServiceAccountToken: false on the pod or on ServiceAccount ${name})`,
        )
      }
    }
  })
}
