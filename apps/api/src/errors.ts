import createError from '@fastify/error'

export const NoteNotFoundError = createError('API_NOTE_NOT_FOUND', 'Note %s not found', 404)
export const InvalidCursorError = createError(
  'API_INVALID_CURSOR',
  'The cursor is not one this API issued',
  400,
)
