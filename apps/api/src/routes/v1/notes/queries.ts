import { and, desc, eq, isNull, type Placeholder, type SQL, sql } from 'drizzle-orm'
import type { FastifyInstance } from 'fastify'
import { notes } from '../../../db/schema/index.js'

/**
 * `owner = $1`, or `owner IS NULL` for the anonymous owner (authentication off). Two statements, not
 * one: `owner = NULL` matches nothing, and `owner IS NOT DISTINCT FROM $1` cannot use an index.
 */
export function ownedBy(owner: string | null | Placeholder): SQL {
  return owner === null ? isNull(notes.owner) : eq(notes.owner, owner)
}

// Newest first. The leading `owner DESC` changes nothing (every row listed has the same owner), but
// it lets `owner IS NULL` use the (owner, created_at, id) index for the order as well: the planner
// drops an `owner = $1` column from the sort keys by itself, not an `IS NULL` one, and without it
// sorts the anonymous owner's whole list or filters its way down the (created_at, id) index.
const newestFirst = [desc(notes.owner), desc(notes.createdAt), desc(notes.id)]

/**
 * The reads of one owner's notes (`owned`: ownedBy()), with placeholders, for the routes to prepare:
 * by id, the first page, and the page after a keyset cursor (id, createdAt).
 */
export function noteReads(db: FastifyInstance['db'], owned: SQL) {
  return {
    byId: db
      .select()
      .from(notes)
      .where(and(eq(notes.id, sql.placeholder('id')), owned)),
    newest: db
      .select()
      .from(notes)
      .where(owned)
      .orderBy(...newestFirst)
      .limit(sql.placeholder('limit')),
    olderThan: db
      .select()
      .from(notes)
      .where(
        and(
          owned,
          sql`(${notes.createdAt}, ${notes.id}) < (${sql.placeholder('createdAt')}::timestamptz, ${sql.placeholder('id')}::uuid)`,
        ),
      )
      .orderBy(...newestFirst)
      .limit(sql.placeholder('limit')),
  }
}
