import { ref, StorableText, UUID_PATTERN } from '@stack/service'
import { Type } from 'typebox'
import { NOTE_BODY_MAX, NOTE_TITLE_MAX } from '../../../db/schema/index.js'

export const NoteId = Type.String({
  format: 'uuid',
  pattern: UUID_PATTERN,
  description: 'The note id (UUID)',
})

export const Note = Type.Object(
  {
    id: NoteId,
    title: Type.String(),
    body: Type.String(),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Note' },
)

// Ajv counts lengths in code points, as PostgreSQL's char_length does in the CHECK constraints.
const title = StorableText({ minLength: 1, maxLength: NOTE_TITLE_MAX })
const body = StorableText({ maxLength: NOTE_BODY_MAX })

export const CreateNote = Type.Object(
  { title, body: Type.Optional(body) },
  { $id: 'CreateNote', additionalProperties: false },
)
export const UpdateNote = Type.Object(
  { title: Type.Optional(title), body: Type.Optional(body) },
  { $id: 'UpdateNote', additionalProperties: false, minProperties: 1 },
)

export const IdParams = Type.Object({ id: NoteId })

export const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
    cursor: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'nextCursor of the previous page' }),
    ),
  },
  { additionalProperties: false },
)

export const NotePage = Type.Object(
  {
    items: Type.Array(ref(Note)),
    nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
  },
  { $id: 'NotePage' },
)

/** Registered by the routes (app.addSchema) and named by ref(): each is one components.schemas entry. */
export const shared = [Note, CreateNote, UpdateNote, NotePage]
