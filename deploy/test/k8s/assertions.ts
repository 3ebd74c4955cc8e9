import { type Assertion, ManifestError } from './assertions/check.js'
import {
  assertHeapFitsMemoryLimit,
  assertImagesPinned,
  assertNoServiceAccountToken,
  assertProbesPresent,
  assertResources,
  assertSecretFiles,
  assertSecurityContext,
} from './assertions/containers.js'
import { assertIssuerEgress } from './assertions/issuer-egress.js'
import {
  assertAppPorts,
  assertAppProbes,
  assertGracePeriod,
  assertMigrationsBeforeApp,
  assertReadinessWithinDrainDelay,
  assertZeroDowntimeRollout,
} from './assertions/lifecycle.js'
import {
  assertEveryAppDeployed,
  assertIngressRoutes,
  assertNetworkPolicies,
  assertProxyTimeouts,
  assertRateLimited,
  assertSelectors,
  assertServiceTargetPorts,
} from './assertions/routing.js'
import { assertAutoscaling, assertConnectionBudget, assertDisruptionBudget } from './assertions/scaling.js'
import { assertTraefikCrdFields } from './assertions/traefik-crds.js'

export { type Assertion, ManifestError }

/** Every check over a rendered overlay, by name. */
export const assertions = {
  assertImagesPinned,
  assertProbesPresent,
  assertResources,
  assertSecurityContext,
  assertAppPorts,
  assertAppProbes,
  assertGracePeriod,
  assertReadinessWithinDrainDelay,
  assertZeroDowntimeRollout,
  assertMigrationsBeforeApp,
  assertSecretFiles,
  assertHeapFitsMemoryLimit,
  assertNoServiceAccountToken,
  assertSelectors,
  assertServiceTargetPorts,
  assertIngressRoutes,
  assertNetworkPolicies,
  assertIssuerEgress,
  assertAutoscaling,
  assertDisruptionBudget,
  assertConnectionBudget,
  assertProxyTimeouts,
  assertEveryAppDeployed,
  assertTraefikCrdFields,
  assertRateLimited,
} satisfies Record<string, Assertion>
