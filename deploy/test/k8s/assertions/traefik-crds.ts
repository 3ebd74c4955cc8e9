import type { IMiddleware } from '@kubernetes-models/traefik/traefik.io/v1alpha1/Middleware'
import { isObject, type K8sObject, ofKind, ref } from '../objects.js'
import { check } from './check.js'

// The schema check validates against the newest Traefik CRDs (@kubernetes-models/traefik). A
// cluster runs the CRDs it was given: k3s and k3d ship their own Traefik's, and `helm upgrade`
// never updates a chart's crds/. A field those older CRDs lack makes the API server reject the
// whole object, and a route that names a rejected Middleware answers 404. So the manifests use
// only fields every Traefik v3 CRD has.

/** Fields of a Middleware's spec newer than Traefik v3.0, with the release that added them. */
const NEWER_MIDDLEWARE_FIELDS: Record<string, Record<string, string>> = {
  // The retry middleware's options beyond attempts and initialInterval came together in v3.7
  // (pkg/middlewares/retry: timeout, maxRequestBodyBytes, status, disableRetryOnNetworkError,
  // retryNonIdempotentMethod).
  retry: {
    timeout: 'v3.7',
    maxRequestBodyBytes: 'v3.7',
    status: 'v3.7',
    disableRetryOnNetworkError: 'v3.7',
    retryNonIdempotentMethod: 'v3.7',
  },
}

/** Every Middleware uses fields that the CRDs of every Traefik v3 release accept. */
export function assertTraefikCrdFields(objects: readonly K8sObject[]): void {
  check('Traefik objects must use fields every v3 CRD has', (problems) => {
    for (const middleware of ofKind<IMiddleware>(objects, 'Middleware')) {
      for (const [type, fields] of Object.entries(NEWER_MIDDLEWARE_FIELDS)) {
        const spec: unknown = (middleware.spec as Record<string, unknown> | undefined)?.[type]
        if (!isObject(spec)) continue
        for (const field of Object.keys(spec)) {
          const since = fields[field]
          if (since) {
            problems.push(
              `${ref(middleware)}: spec.${type}.${field} exists only in Traefik ${since}+ CRDs; clusters with older ones reject the Middleware`,
            )
          }
        }
      }
    }
  })
}
