import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export const templateDir = fileURLToPath(new URL('../template/', import.meta.url))

/**
 * Fills a template: `__KEY__` placeholders, and what stands between `{{#flag}}` and `{{/flag}}` (kept
 * when the flag is on) or `{{^flag}}` and `{{/flag}}` (kept when it is off): whole lines when the
 * markers stand on lines of their own, else within one line. Blank lines left doubled by a dropped
 * block are collapsed, as the formatter would.
 */
export function render(text: string, values: Record<string, string>, flags: Record<string, boolean>): string {
  const out: string[] = []
  const stack: boolean[] = []
  for (const line of text.split('\n')) {
    const marker = /^\s*\{\{([#^/])(\w+)\}\}\s*$/.exec(line)
    if (marker) {
      const [, kind, flag] = marker as unknown as [string, string, string]
      if (!(flag in flags)) throw new Error(`template: unknown flag ${flag}`)
      if (kind === '/') {
        if (stack.pop() === undefined) throw new Error(`template: {{/${flag}}} without an opening marker`)
      } else stack.push(kind === '#' ? flags[flag] === true : flags[flag] !== true)
      continue
    }
    if (stack.every(Boolean)) out.push(line)
  }
  if (stack.length > 0) throw new Error('template: a {{#flag}} block is not closed')
  const inline = out
    .join('\n')
    .replace(/\{\{([#^])(\w+)\}\}(.*?)\{\{\/\2\}\}/gs, (_whole, kind: string, flag: string, body: string) => {
      if (!(flag in flags)) throw new Error(`template: unknown flag ${flag}`)
      return (kind === '#') === (flags[flag] === true) ? body : ''
    })
  if (/\{\{[#^/]\w+\}\}/.test(inline)) throw new Error('template: a {{#flag}} marker is left over')
  const filled = inline.replace(/__([A-Z]+(?:_[A-Z]+)*)__/g, (whole, key: string) => {
    const value = values[key]
    if (value === undefined) throw new Error(`template: no value for ${whole}`)
    return value
  })
  return filled.replace(/\n{3,}/g, '\n\n')
}

/** Every template file under `dir`, as paths relative to it without the `.tmpl` suffix. */
export function templateFiles(dir: string): { source: string; target: string }[] {
  const files: { source: string; target: string }[] = []
  if (!existsSync(dir)) return files
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name)
      if (entry.isDirectory()) walk(path)
      else if (entry.name.endsWith('.tmpl')) {
        files.push({ source: path, target: relative(dir, path).slice(0, -'.tmpl'.length) })
      }
    }
  }
  walk(dir)
  return files.sort((a, b) => a.target.localeCompare(b.target))
}

export function readTemplate(path: string): string {
  return readFileSync(path, 'utf8')
}
