import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { commonErrors, ProblemSchema, ref } from '@stack/service'
import { and, eq, sql } from 'drizzle-orm'
import type { FastifyRequest } from 'fastify'
import { type Note as NoteRow, notes } from '../../../db/schema/index.js'
import { NoteNotFoundError } from '../../../errors.js'
import { decodeCursor, encodeCursor } from './cursor.js'
import { noteReads, ownedBy } from './queries.js'
import { CreateNote, IdParams, ListQuery, Note, NotePage, shared, UpdateNote } from './schemas.js'

const tags = ['notes']
// What each operation needs of the caller's token (@stack/service plugins/auth.ts; the OpenAPI
// document lists them). Off, with a warning at start, until AUTH_ISSUER is set.
const reads = { auth: { scopes: ['notes:read'] } }
const writes = { auth: { scopes: ['notes:write'] } }

/** A row as the API shows it: timestamps as ISO 8601 strings; the owner is the server's business. */
function toNote({ owner: _owner, ...row }: NoteRow) {
  return { ...row, createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() }
}

/**
 * Whose notes a request sees: the verified caller's subject, or null, the one anonymous owner,
 * while authentication is off (AUTH_ISSUER unset: req.caller is null). Notes written before auth
 * was turned on keep owner NULL and stay visible to the anonymous owner only.
 */
function ownerOf(req: FastifyRequest): string | null {
  return req.caller?.subject ?? null
}

interface Statement<R> {
  execute(values: Record<string, unknown>): Promise<R>
}

/** A statement prepared for an owner and for the anonymous one, run for `owner`. */
function run<R>(
  statement: { owned: Statement<R>; anonymous: Statement<R> },
  owner: string | null,
  values: Record<string, unknown>,
): Promise<R> {
  return owner === null ? statement.anonymous.execute(values) : statement.owned.execute({ ...values, owner })
}

/** /v1/notes: create, list (keyset pagination, newest first), read, update, delete; each caller its own. */
const notesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  for (const schema of shared) app.addSchema(schema)

  // The reads are prepared once: drizzle builds and renders their SQL here rather than per request,
  // and pg prepares each name once per connection, so PostgreSQL parses and plans it once as well.
  // (Named statements need session pooling: behind PgBouncer, use its transaction-mode support.)
  // Each comes twice, for an owner (bound per request) and for the anonymous one (queries.ts).
  const owned = noteReads(app.db, ownedBy(sql.placeholder('owner')))
  const anonymous = noteReads(app.db, ownedBy(null))
  const twice = <K extends keyof typeof owned>(key: K, name: string) => ({
    owned: owned[key].prepare(name),
    anonymous: anonymous[key].prepare(`${name}_anonymous`),
  })
  const byId = twice('byId', 'notes_by_id')
  const newest = twice('newest', 'notes_newest')
  const olderThan = twice('olderThan', 'notes_older_than')

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
      const [note] = await app.db
        .insert(notes)
        .values({ ...req.body, owner: ownerOf(req) })
        .returning()
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
      const owner = ownerOf(req)
      const rows = after
        ? await run(olderThan, owner, { createdAt: after.createdAt, id: after.id, limit: limit + 1 })
        : await run(newest, owner, { limit: limit + 1 })
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
      const [note] = await run(byId, ownerOf(req), { id: req.params.id })
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
        .where(and(eq(notes.id, req.params.id), ownedBy(ownerOf(req))))
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
        .where(and(eq(notes.id, req.params.id), ownedBy(ownerOf(req))))
        .returning({ id: notes.id })
      if (deleted.length === 0) throw new NoteNotFoundError(req.params.id)
      return reply.code(204).send(null)
    },
  )
}

export default notesRoutes
