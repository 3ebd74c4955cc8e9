// One Go-duration parser for the compose and Kubernetes checks (Compose, Traefik and kubelet
// settings all use Go's syntax).

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
}

/** Go duration syntax ("1m30s", "1.5s", "1500ms"), which both Compose and Traefik use; a bare number is seconds. */
export function parseDuration(text: string | number): number {
  if (typeof text === 'number') return text * 1000
  const value = text.trim()
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)]
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value) {
    throw new Error(`"${text}" is not a duration`)
  }
  return parts.reduce((ms, [, n, unit]) => ms + Number(n) * (DURATION_UNITS[unit as string] as number), 0)
}
