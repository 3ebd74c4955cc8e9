import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { commonErrors, ProblemSchema, ref } from '@stack/service'
import { desc, eq, sql } from 'drizzle-orm'
import { type Note as NoteRow, notes } from '../../../db/schema/index.js'
import { NoteNotFoundError } from '../../../errors.js'
import { decodeCursor, encodeCursor } from './cursor.js'
import { CreateNote, IdParams, ListQuery, Note, NotePage, shared, UpdateNote } from './schemas.js'

const tags = ['notes']
// What each operation needs of the caller's token (@stack/service plugins/auth.ts; the OpenAPI
// document lists them). Off, with a warning at start, until AUTH_ISSUER is set.
const reads = { auth: { scopes: ['notes:read'] } }
const writes = { auth: { scopes: ['notes:write'] } }

/** A row as the API shows it: timestamps as ISO 8601 strings. */
function toNote(row: NoteRow) {
  return { ...row, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() }
}

/** /v1/notes: create, list (keyset pagination, newest first), read, update, delete. */
const notesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  for (const schema of shared) app.addSchema(schema)

  // The reads are prepared once: drizzle builds and renders their SQL here rather than per request,
  // and pg prepares each name once per connection, so PostgreSQL parses and plans it once as well.
  // (Named statements need session pooling: behind PgBouncer, use its transaction-mode support.)
  const byId = app.db
    .select()
    .from(notes)
    .where(eq(notes.id, sql.placeholder('id')))
    .prepare('notes_by_id')
  const newest = app.db
    .select()
    .from(notes)
    .orderBy(desc(notes.createdAt), desc(notes.id))
    .limit(sql.placeholder('limit'))
    .prepare('notes_newest')
  const olderThan = app.db
    .select()
    .from(notes)
    .where(
      sql`(${notes.createdAt}, ${notes.id}) < (${sql.placeholder('createdAt')}::timestamptz, ${sql.placeholder('id')}::uuid)`,
    )
    .orderBy(desc(notes.createdAt), desc(notes.id))
    .limit(sql.placeholder('limit'))
    .prepare('notes_older_than')

  // The collection is registered at '' rather than '/': its URL is /v1/notes, as the README, the
  // Location header and the OpenAPI document say. /v1/notes/ is not a second name for it: POST there
  // is a 404, GET is /v1/notes/{id} with an empty id (a 400).
  app.post(
    '',
    {
      config: writes,
      schema: {
        summary: 'Create a note',
        operationId: 'createNote',
        tags,
        body: ref(CreateNote),
        response: { 201: ref(Note), ...commonErrors },
      },
    },
    async (req, reply) => {
      const [note] = await app.db.insert(notes).values(req.body).returning()
      if (!note) throw new Error('insert returned no row')
      reply.code(201).header('location', `${req.routeOptions.url}/${note.id}`)
      return toNote(note)
    },
  )

  app.get(
    '',
    {
      config: reads,
      schema: {
        summary: 'List notes, newest first',
        operationId: 'listNotes',
        tags,
        querystring: ListQuery,
        response: { 200: ref(NotePage), ...commonErrors },
      },
    },
    async (req) => {
      const { limit, cursor } = req.query
      const after = cursor ? decodeCursor(cursor) : undefined
      const rows = after
        ? await olderThan.execute({ createdAt: after.createdAt, id: after.id, limit: limit + 1 })
        : await newest.execute({ limit: limit + 1 })
      const items = rows.slice(0, limit)
      const last = items.at(-1)
      return { items: items.map(toNote), nextCursor: rows.length > limit && last ? encodeCursor(last) : null }
    },
  )

  app.get(
    '/:id',
    {
      config: reads,
      schema: {
        summary: 'Read a note',
        operationId: 'getNote',
        tags,
        params: IdParams,
        response: { 200: ref(Note), 404: ProblemSchema, ...commonErrors },
      },
    },
    async (req) => {
      const [note] = await byId.execute({ id: req.params.id })
      if (!note) throw new NoteNotFoundError(req.params.id)
      return toNote(note)
    },
  )

  app.patch(
    '/:id',
    {
      config: writes,
      schema: {
        summary: 'Change the title or body of a note',
        operationId: 'updateNote',
        tags,
        params: IdParams,
        body: ref(UpdateNote),
        response: { 200: ref(Note), 404: ProblemSchema, ...commonErrors },
      },
    },
    async (req) => {
      const [note] = await app.db
        .update(notes)
        .set({ ...req.body, updatedAt: sql`now()` })
        .where(eq(notes.id, req.params.id))
        .returning()
      if (!note) throw new NoteNotFoundError(req.params.id)
      return toNote(note)
    },
  )

  app.delete(
    '/:id',
    {
      config: writes,
      schema: {
        summary: 'Delete a note',
        operationId: 'deleteNote',
        tags,
        params: IdParams,
        response: { 204: { type: 'null', description: 'Deleted' }, 404: ProblemSchema, ...commonErrors },
      },
    },
    async (req, reply) => {
      const deleted = await app.db
        .delete(notes)
        .where(eq(notes.id, req.params.id))
        .returning({ id: notes.id })
      if (deleted.length === 0) throw new NoteNotFoundError(req.params.id)
      return reply.code(204).send(null)
    },
  )
}

export default notesRoutes
