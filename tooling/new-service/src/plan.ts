import { existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'

/** A file the generator writes: new (`before` undefined) or changed (`before` is what it read). */
export interface PlannedFile {
  path: string
  before?: string
  after: string
}

/**
 * Every file the generator will write, computed in full before anything is written. `apply` writes
 * each to a temporary sibling first, then renames them into place; if anything fails, files already
 * renamed get their old content back, new files and the directories made for them are removed.
 */
export class Plan {
  readonly files = new Map<string, PlannedFile>()
  readonly root: string

  constructor(root: string) {
    this.root = root
  }

  /** A new file; refused if it exists or is already planned. */
  create(path: string, content: string): void {
    if (this.files.has(path) || existsSync(join(this.root, path))) throw new Error(`${path} already exists`)
    this.files.set(path, { path, after: content })
  }

  /** The current content of a file: as planned so far, else as on disk. */
  read(path: string): string {
    return this.files.get(path)?.after ?? readFileSync(join(this.root, path), 'utf8')
  }

  exists(path: string): boolean {
    return this.files.has(path) || existsSync(join(this.root, path))
  }

  /** A changed file; `edit` gets the current content (planned or on disk). */
  update(path: string, edit: (text: string) => string): void {
    const planned = this.files.get(path)
    const before = planned ? planned.before : readFileSync(join(this.root, path), 'utf8')
    const after = edit(planned?.after ?? (before as string))
    this.files.set(path, { path, ...(before !== undefined ? { before } : {}), after })
  }

  /** `move` is for tests: a rename that fails part way. */
  apply(move: (from: string, to: string) => void = renameSync): void {
    const made: string[] = []
    const staged: { target: string; temp: string; file: PlannedFile }[] = []
    const placed: { target: string; file: PlannedFile }[] = []
    try {
      for (const file of this.files.values()) {
        const target = join(this.root, file.path)
        // Nothing changed underneath since it was read: the edit was computed from what is there.
        const now = existsSync(target) ? readFileSync(target, 'utf8') : undefined
        if (now !== file.before) throw new Error(`${file.path} changed while the service was being generated`)
        for (const dir of missingDirs(this.root, dirname(target))) {
          mkdirSync(dir)
          made.push(dir)
        }
        const temp = `${target}.new-service-${process.pid}`
        writeFileSync(temp, file.after)
        staged.push({ target, temp, file })
      }
      for (const { target, temp, file } of staged) {
        move(temp, target)
        placed.push({ target, file })
      }
    } catch (error) {
      for (const { target, file } of placed.reverse()) {
        if (file.before === undefined) rmSync(target, { force: true })
        else writeFileSync(target, file.before)
      }
      for (const { temp } of staged) rmSync(temp, { force: true })
      for (const dir of made.reverse()) rmdirSync(dir)
      throw error
    }
  }
}

/** The directories from `root` down to `dir` that do not exist yet, outermost first. */
function missingDirs(root: string, dir: string): string[] {
  const missing: string[] = []
  const parts = relative(root, dir).split(sep).filter(Boolean)
  let at = root
  for (const part of parts) {
    at = join(at, part)
    if (!existsSync(at)) missing.push(at)
  }
  return missing
}
