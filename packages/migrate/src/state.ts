import { readMigrations } from './files.js'

/** Where drizzle-orm records applied migrations; the same table, so either tool can take over. */
export const MIGRATIONS_SCHEMA = 'drizzle'
export const MIGRATIONS_TABLE = '__drizzle_migrations'

export interface Queryable {
  query<R extends Record<string, unknown>>(text: string): Promise<{ rows: R[] }>
}

export interface SchemaState {
  /** Every migration this build ships is applied (the database may hold newer ones). */
  current: boolean
  applied: string[]
  pending: string[]
  /** Applied migrations whose file changed since: a sign someone edited history. */
  changed: string[]
  /** Rows in the database that this build does not know (a newer build migrated it). */
  unknown: number
}

/** Compares the migrations shipped in `folder` with what the database has recorded. */
export async function schemaState(db: Queryable, folder: string): Promise<SchemaState> {
  const migrations = readMigrations(folder)
  const recorded = await appliedRows(db)
  const byMillis = new Map(recorded.map((r) => [Number(r.created_at), r.hash]))
  const state: SchemaState = { current: true, applied: [], pending: [], changed: [], unknown: 0 }
  for (const m of migrations) {
    const hash = byMillis.get(m.millis)
    if (hash === undefined) {
      state.pending.push(m.tag)
      continue
    }
    state.applied.push(m.tag)
    if (hash !== m.hash) state.changed.push(m.tag)
    byMillis.delete(m.millis)
  }
  state.unknown = byMillis.size
  state.current = state.pending.length === 0
  return state
}

async function appliedRows(db: Queryable): Promise<{ hash: string; created_at: string }[]> {
  const { rows } = await db.query<{ exists: boolean }>(
    `select to_regclass('${MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE}') is not null as exists`,
  )
  if (!rows[0]?.exists) return []
  const result = await db.query<{ hash: string; created_at: string }>(
    `select hash, created_at from ${MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE}`,
  )
  return result.rows
}
