import {
  Document,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  type Node,
  Pair,
  parseAllDocuments,
  parseDocument,
  Scalar,
  visit,
  YAMLMap,
  YAMLSeq,
} from 'yaml'

// The YAML files are edited by splicing text at the positions the parser reports, not by printing the
// whole Document again: the printer would rewrite lines nobody touched (flow-sequence padding, folded
// scalars, YAML 1.1 octals such as a Secret volume's `defaultMode: 0440`). New entries are built as
// nodes (clones of the API's, transformed with the Document API) and printed on their own.

/** Kubernetes reads YAML 1.1 (0440 is octal); Compose and Traefik are fine with either. */
export type YamlVersion = '1.1' | '1.2'

export function parse(text: string, source: string, version: YamlVersion = '1.2'): Document.Parsed {
  const doc = parseDocument(text, { version, keepSourceTokens: false })
  if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`)
  return doc
}

export function parseAll(text: string, source: string, version: YamlVersion = '1.2'): Document.Parsed[] {
  const docs = parseAllDocuments(text, { version })
  if (!Array.isArray(docs)) throw new Error(`${source}: not a YAML stream`)
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`)
  }
  return docs
}

export function mapAt(
  doc: Document | Node | null | undefined,
  path: (string | number)[],
): YAMLMap | undefined {
  const node = at(doc, path)
  return isMap(node) ? node : undefined
}

export function seqAt(
  doc: Document | Node | null | undefined,
  path: (string | number)[],
): YAMLSeq | undefined {
  const node = at(doc, path)
  return isSeq(node) ? node : undefined
}

export function at(doc: Document | Node | null | undefined, path: (string | number)[]): unknown {
  if (doc === null || doc === undefined) return undefined
  if (path.length === 0) return doc instanceof Document ? doc.contents : doc
  return (doc as Document).getIn(path, true)
}

/** The pair of `map` whose key is `key`. */
export function pairOf(map: YAMLMap | undefined, key: string): Pair<Scalar, unknown> | undefined {
  return map?.items.find((p) => isScalar(p.key) && p.key.value === key) as Pair<Scalar, unknown> | undefined
}

export function remove(map: YAMLMap | undefined, key: string): void {
  if (map) map.items = map.items.filter((p) => !(isScalar(p.key) && p.key.value === key))
}

/**
 * Keeps the items `keep` accepts. A comment written above the first item is stored on the sequence:
 * it goes with that item.
 */
export function filterItems(seq: YAMLSeq, keep: (item: unknown) => boolean): void {
  const first = seq.items[0]
  seq.items = seq.items.filter(keep)
  if (first !== undefined && seq.items[0] !== first) seq.commentBefore = undefined
}

export function clone<T extends Node>(node: T): T {
  return node.clone() as T
}

/** Renames every scalar value (never a key), alias and anchor under `node` with `rename`. */
export function renameValues(node: Node, rename: (text: string) => string, ports: Map<number, number>): void {
  visit(node, {
    Scalar(key, scalar) {
      if (key === 'key') return
      if (typeof scalar.value === 'string') scalar.value = rename(scalar.value)
      else if (typeof scalar.value === 'number') scalar.value = ports.get(scalar.value) ?? scalar.value
    },
    Alias(_key, alias) {
      alias.source = rename(alias.source)
    },
    Node(_key, n) {
      if (n.anchor) n.anchor = rename(n.anchor)
    },
  })
}

export interface PrintOptions {
  version?: YamlVersion
  /** Comment lines put before the entry (without `#`). */
  comment?: string[]
}

/** `key: value` as its own block, indented to `column`. */
export function printPair(key: string, value: unknown, column: number, options: PrintOptions = {}): string {
  const map = new YAMLMap()
  map.items.push(new Pair(new Scalar(key), value))
  return indent(withComment(print(map, options.version), options.comment), column)
}

/** `- item` as its own block, indented to `column`. */
export function printItem(item: unknown, column: number, options: PrintOptions = {}): string {
  const seq = new YAMLSeq()
  seq.items.push(item)
  return indent(withComment(print(seq, options.version), options.comment), column)
}

/** A whole document (a new file). */
export function printDocument(node: unknown, options: PrintOptions = {}): string {
  return withComment(print(node, options.version), options.comment)
}

function print(node: unknown, version: YamlVersion = '1.2'): string {
  const doc = new Document(null, { version })
  doc.contents = (isNode(node) ? node : doc.createNode(node)) as Node
  // Aliases to anchors outside this block are fine in the file the block is spliced into.
  return doc.toString({ flowCollectionPadding: false, lineWidth: 0, verifyAliasOrder: false })
}

function withComment(text: string, comment: string[] | undefined): string {
  const lines = (comment ?? []).map((c) => (c ? `# ${c}` : '#'))
  return [...lines, text.trimEnd()].join('\n').concat('\n')
}

function indent(text: string, column: number): string {
  const pad = ' '.repeat(column)
  return text
    .split('\n')
    .map((line) => (line ? pad + line : line))
    .join('\n')
}

/** The column at which `node` starts in `text` (its indentation). */
export function columnOf(text: string, node: Node): number {
  const start = node.range?.[0]
  if (start === undefined) throw new Error('node has no position')
  return start - (text.lastIndexOf('\n', start - 1) + 1)
}

/** Text to put at an offset of the original text. */
export interface Insertion {
  at: number
  text: string
}

/** Applies insertions computed against the same original text, last offset first. */
export function splice(text: string, insertions: Insertion[]): string {
  let out = text
  // Last offset first, so earlier offsets stay valid; at one offset, the last given first, so that
  // blocks end up in the order given.
  const order = insertions.map((insertion, index) => ({ ...insertion, index }))
  for (const { at, text: block } of order.sort((a, b) => b.at - a.at || b.index - a.index)) {
    out = out.slice(0, at) + block + out.slice(at)
  }
  return out
}

/** `block` right after the last entry of a block mapping or sequence. */
export function append(
  text: string,
  node: YAMLMap | YAMLSeq,
  block: string,
  options: { blankLine?: boolean } = {},
): Insertion {
  const end = node.range?.[1]
  if (end === undefined) throw new Error('node has no position')
  if (node.flow) throw new Error('cannot append to a flow collection')
  return lineAfter(text, end, block, options)
}

/** `block` right after `node` (an entry's value, or a sequence item) ends. */
export function after(
  text: string,
  node: Node,
  block: string,
  options: { blankLine?: boolean } = {},
): Insertion {
  const end = node.range?.[1]
  if (end === undefined) throw new Error('node has no position')
  return lineAfter(text, end, block, options)
}

function lineAfter(text: string, end: number, block: string, options: { blankLine?: boolean }): Insertion {
  const at = text[end - 1] === '\n' || end >= text.length ? end : text.indexOf('\n', end) + 1 || text.length
  const lead = (at > 0 && text[at - 1] !== '\n' ? '\n' : '') + (options.blankLine ? '\n' : '')
  return { at, text: lead + block }
}

export { isAlias, isMap, isScalar, isSeq, type Node, Pair, Scalar, YAMLMap, YAMLSeq }
