import { prettyFactory } from 'pino-pretty'

export interface Addresses {
  api?: string
  metrics?: string
}

/**
 * Turns the app's stdout (pino's JSON lines, and tsx's own lines) into lines for a person, one log
 * line each, and reports the addresses the app logs when it listens. Colours only on a terminal.
 */
export function prettyLines(options: {
  colorize: boolean
  write: (text: string) => void
  onAddress: (addresses: Addresses) => void
}): (chunk: string) => void {
  const prettify = prettyFactory({
    colorize: options.colorize,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    // The same in every line of one app's run.
    ignore: 'pid,hostname,service,version',
  })
  const addresses: Addresses = {}
  let partial = ''
  return (chunk) => {
    partial += chunk
    for (let nl = partial.indexOf('\n'); nl >= 0; nl = partial.indexOf('\n')) {
      const line = partial.slice(0, nl)
      partial = partial.slice(nl + 1)
      options.write(prettify(line))
      const listened = listening(line)
      if (listened) {
        Object.assign(addresses, listened)
        options.onAddress({ ...addresses })
      }
    }
  }
}

function listening(line: string): Addresses | undefined {
  if (!line.startsWith('{')) return undefined
  try {
    const { msg, address } = JSON.parse(line) as { msg?: unknown; address?: unknown }
    if (msg === 'listening' && typeof address === 'string') return { api: address }
    if (msg === 'metrics listening' && typeof address === 'string') return { metrics: address }
    if (typeof msg === 'string' && msg.startsWith('metrics cannot listen')) return { metrics: 'not served' }
  } catch {}
  return undefined
}
