import { sql } from 'drizzle-orm'
import { check, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'

export const NOTE_TITLE_MAX = 200
export const NOTE_BODY_MAX = 10_000

export const notes = pgTable(
  'notes',
  {
    id: uuid().primaryKey().defaultRandom(),
    title: text().notNull(),
    body: text().notNull().default(''),
    createdAt: timestamp({ withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true, precision: 3 }).notNull().defaultNow(),
    // The token subject (\`sub\`) that created the note; NULL while authentication is off (one
    // anonymous owner). Nullable so that the release still serving during a rollout keeps inserting.
    owner: text(),
  },
  // Millisecond precision: what a JS Date holds, so a keyset cursor built from one is exact.
  (t) => [
    // Scanned backwards, an ascending (created_at, id) index serves `ORDER BY created_at DESC, id DESC`
    // with a `(created_at, id) < ($1, $2)` keyset cursor.
    index('notes_created_at_id_idx').on(t.createdAt, t.id),
    // The same keyset per owner: `WHERE owner = $1` (or `owner IS NULL`, auth off) then the
    // backward scan above. Built CONCURRENTLY (drizzle/0002_notes_owner_index.sql). The index above
    // serves the release before owners; dropping it is a later contract step.
    index('notes_owner_created_at_id_idx').on(t.owner, t.createdAt, t.id),
    // The API validates these too; the database keeps them true whatever writes to it.
    check(
      'notes_title_length',
      sql`char_length(${t.title}) between 1 and ${sql.raw(String(NOTE_TITLE_MAX))}`,
    ),
    check('notes_body_length', sql`char_length(${t.body}) <= ${sql.raw(String(NOTE_BODY_MAX))}`),
  ],
)

export type Note = typeof notes.$inferSelect
export type NewNote = typeof notes.$inferInsert
