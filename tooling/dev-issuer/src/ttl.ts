const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }
/** Thirty days: a development token, not a credential to keep. */
const MAX_SECONDS = 30 * 86_400

/** `90s`, `15m`, `1h`, `7d` or bare seconds, as seconds; undefined for anything else, 0 or over 30 days. */
export function parseTtl(text: string): number | undefined {
  const match = /^(\d{1,7})([smhd]?)$/.exec(text.trim())
  if (!match) return undefined
  const seconds = Number(match[1]) * (UNIT[match[2] || 's'] as number)
  return seconds > 0 && seconds <= MAX_SECONDS ? seconds : undefined
}
