/** The q-quantile (0..1) of values sorted ascending, nearest-rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[rank] as number
}

export interface Latency {
  p50: number
  p99: number
  max: number
  mean: number
}

/** Latency figures (ms) of a list of request durations (ms). */
export function summarize(latencies: number[]): Latency {
  const sorted = Float64Array.from(latencies).sort()
  const sum = sorted.reduce((a, b) => a + b, 0)
  return {
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    max: sorted.length ? (sorted[sorted.length - 1] as number) : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  }
}

export function median(values: number[]): number {
  return quantile(Float64Array.from(values).sort(), 0.5)
}

/** Least-squares slope and intercept of y over x. */
export function linearFit(points: { x: number; y: number }[]): { slope: number; intercept: number } {
  const n = points.length
  if (n < 2) return { slope: Number.NaN, intercept: Number.NaN }
  const mx = points.reduce((s, p) => s + p.x, 0) / n
  const my = points.reduce((s, p) => s + p.y, 0) / n
  let num = 0
  let den = 0
  for (const p of points) {
    num += (p.x - mx) * (p.y - my)
    den += (p.x - mx) ** 2
  }
  const slope = den === 0 ? Number.NaN : num / den
  return { slope, intercept: my - slope * mx }
}

export const MB = 1024 * 1024
