import { appDefault, READY_PATH } from './assertions.js'

// Checks on a service's Dockerfile (apps/<name>/Dockerfile) that need no build: the conventions a
// reviewer would look for.

interface Instruction {
  keyword: string
  args: string
  line: number
}

/** Instructions with their continuation lines joined; comments dropped. */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const first = i
    let line = lines[i] as string
    if (/^\s*(#|$)/.test(line)) continue
    while (line.trimEnd().endsWith('\\') && i + 1 < lines.length) {
      i++
      const next = lines[i] as string
      line = `${line.trimEnd().slice(0, -1)} ${/^\s*#/.test(next) ? '' : next.trim()}`
    }
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(line)
    if (m)
      out.push({ keyword: (m[1] as string).toUpperCase(), args: (m[2] as string).trim(), line: first + 1 })
  }
  return out
}

function pinned(image: string): boolean {
  const m = /^(?<name>[^@]+?)(?::(?<tag>[^:/@]+))?(?:@.+)?$/.exec(image)
  const tag = m?.groups?.tag
  return tag !== undefined && tag !== 'latest'
}

/** `port`: what the service listens on in its container (PORT), by default @stack/config's. */
export function checkDockerfile(text: string, port: string = appDefault('PORT')): string[] {
  const problems: string[] = []
  if (/^#\s*syntax\s*=/im.test(text)) problems.push('a "# syntax=" line makes BuildKit pull a frontend image')
  const all = instructions(text)
  const args = new Map<string, string>()
  const stages = new Set<string>()
  let finalStart = 0

  all.forEach((ins, index) => {
    if (ins.keyword === 'ARG') {
      const [name, value] = ins.args.split('=') as [string, string | undefined]
      if (value !== undefined) args.set(name.trim(), value.trim())
    }
    if (ins.keyword === 'FROM') {
      const [image = '', , alias] = ins.args.split(/\s+/)
      if (alias) stages.add(alias.toLowerCase())
      finalStart = index
      const ref = /^\$\{?(\w+)\}?$/.exec(image)
      if (ref) {
        const value = args.get(ref[1] as string)
        if (value === undefined) problems.push(`line ${ins.line}: FROM ${image} has no default`)
        else if (!pinned(value)) problems.push(`line ${ins.line}: base image ${value} is not pinned by a tag`)
      } else if (!stages.has(image.toLowerCase())) {
        problems.push(`line ${ins.line}: FROM ${image} is not a build argument (no mirror can be given)`)
        if (!pinned(image)) problems.push(`line ${ins.line}: base image ${image} is not pinned by a tag`)
      }
    }
  })

  const final = all.slice(finalStart)
  const user = final.filter((i) => i.keyword === 'USER').at(-1)
  if (!user || /^(root|0)(:|$)/.test(user.args)) problems.push('the runtime stage runs as root')
  const cmd = final.filter((i) => i.keyword === 'CMD').at(-1)
  let argv: unknown
  try {
    argv = cmd ? JSON.parse(cmd.args) : undefined
  } catch {
    argv = undefined
  }
  if (!Array.isArray(argv) || argv[0] !== 'node') problems.push('CMD is not an exec-form ["node", ...] array')
  const health = final.filter((i) => i.keyword === 'HEALTHCHECK').at(-1)
  if (!health?.args.includes(READY_PATH)) problems.push(`no HEALTHCHECK probing ${READY_PATH}`)
  else if (/curl|wget/.test(health.args)) problems.push('the HEALTHCHECK needs curl or wget')
  const expose = final.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/))
  if (!expose.includes(port))
    problems.push(`EXPOSE ${expose.join(' ') || '(none)'} does not match PORT ${port}`)
  const stop = final.filter((i) => i.keyword === 'STOPSIGNAL').at(-1)
  if (stop && stop.args !== 'SIGTERM') problems.push(`STOPSIGNAL ${stop.args}: the app drains on SIGTERM`)
  return problems
}
