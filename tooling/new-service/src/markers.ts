import type { Plan } from './plan.ts'

/** A line `# new-service: <item>` stands above a list that names every service, one line each. */
const MARKER = /^(\s*)# new-service: (.+?)\s*$/

export interface Inserted {
  file: string
  item: string
}

/**
 * Adds the service's line to every marked list in `file`: the marker's item rendered, with the
 * marker's indentation, after the last line of the list below it (lines at that indentation that
 * start as the item does, `- ` or not, what is indented deeper, and comments). Throws a `Listed`
 * when a list has that line already. An item that renders to nothing (a `{{#db}}` item of a service without a
 * database) adds nothing.
 */
export function insertListItems(plan: Plan, file: string, render: (item: string) => string): Inserted[] {
  const inserted: Inserted[] = []
  const lines = plan.read(file).split('\n')
  // From the last marker up, so that an insertion does not move the lines still to be read.
  for (let i = lines.length - 1; i >= 0; i--) {
    const marker = MARKER.exec(lines[i] as string)
    if (!marker) continue
    const [, indent, template] = marker as unknown as [string, string, string]
    const item = render(template).trim()
    if (item === '') continue
    const dash = item.startsWith('- ')
    let last = i
    for (let j = i + 1; j < lines.length && continuesList(lines[j] as string, indent, dash); j++) {
      const line = (lines[j] as string).trim()
      if (line === item) throw new Listed(file, item)
      // A comment between items belongs to the list; one after the last item may be the next key's.
      if (!line.startsWith('#')) last = j
    }
    lines.splice(last + 1, 0, `${indent}${item}`)
    inserted.unshift({ file, item })
  }
  if (inserted.length > 0) plan.update(file, () => lines.join('\n'))
  return inserted
}

function continuesList(line: string, indent: string, dash: boolean): boolean {
  if (line.trim() === '' || !line.startsWith(indent)) return false
  const rest = line.slice(indent.length)
  if (/^\s/.test(rest) || rest.startsWith('#')) return !MARKER.test(line)
  return dash ? rest.startsWith('- ') : true
}

/** A list that names the service already: the name is taken. */
export class Listed extends Error {
  override name = 'Listed'
  constructor(file: string, item: string) {
    super(`${file} already lists "${item}"`)
  }
}
