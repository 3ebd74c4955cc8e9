import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { clientTypes, GENERATED_TYPES, liveDocument } from './openapi-document.js'

const API_DIR = fileURLToPath(new URL('..', import.meta.url))
const REDOCLY = join(API_DIR, 'node_modules', '.bin', 'redocly')

type Operation = { operationId?: string; [key: string]: unknown }
// biome-ignore lint/suspicious/noExplicitAny: a JSON document, walked by the assertions below
let doc: Record<string, any>
beforeAll(async () => {
  doc = await liveDocument()
})

function operations(): [string, string, Operation][] {
  return Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => [path, method, op] as [string, string, Operation]),
  )
}

describe('the OpenAPI document, as a client generator sees it', () => {
  it('passes Redocly lint with the recommended rules (redocly.yaml)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'openapi-')), 'openapi.json')
    writeFileSync(file, JSON.stringify(doc, null, 2))
    // cwd apps/api: redocly reads redocly.yaml from there. Exit 1 (with the problems) fails the test.
    const result = await promisify(execFile)(REDOCLY, ['lint', '--format=summary', file], {
      cwd: API_DIR,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    }).then(
      (r) => ({ code: 0, output: r.stdout + r.stderr }),
      (err: { code: number; stdout: string; stderr: string }) => ({
        code: err.code,
        output: err.stdout + err.stderr,
      }),
    )
    expect(result.output).not.toMatch(/warning|error/i)
    expect(result.code, result.output).toBe(0)
  }, 60_000)

  it('every operation has a unique operationId, named for what it does', () => {
    const ids = operations().map(([path, method, op]) => `${method} ${path} ${op.operationId}`)
    expect(ids.sort()).toEqual([
      'delete /v1/notes/{id} deleteNote',
      'get /health/live getLiveness',
      'get /health/ready getReadiness',
      'get /v1/notes listNotes',
      'get /v1/notes/{id} getNote',
      'patch /v1/notes/{id} updateNote',
      'post /v1/notes createNote',
    ])
  })

  it('the collection is published as /v1/notes, as the README and Location say', () => {
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/health/live',
      '/health/ready',
      '/v1/notes',
      '/v1/notes/{id}',
    ])
  })

  it('shared schemas are named components, and operations refer to them', () => {
    expect(Object.keys(doc.components.schemas).sort()).toEqual([
      'CreateNote',
      'Liveness',
      'Note',
      'NotePage',
      'Problem',
      'Readiness',
      'UpdateNote',
    ])
    const create = doc.paths['/v1/notes'].post
    expect(create.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/CreateNote',
    })
    expect(create.responses['201'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/Note',
    })
    expect(create.responses['400'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/Problem',
    })
    expect(doc.components.schemas.NotePage.properties.items.items).toEqual({
      $ref: '#/components/schemas/Note',
    })
    expect(doc.components.schemas.CreateNote).toMatchObject({
      additionalProperties: false,
      required: ['title'],
      properties: { title: { minLength: 1, maxLength: 200 } },
    })
  })

  it('names its server (relative: wherever the document was fetched from) and its (empty) security', () => {
    expect(doc.servers).toEqual([{ url: '/', description: expect.any(String) }])
    expect(doc.security).toEqual([])
  })

  it('test/generated/openapi.d.ts is what openapi-typescript makes of the live document', async () => {
    const generated = await clientTypes(doc)
    if (process.env.UPDATE_GENERATED === '1') writeFileSync(GENERATED_TYPES, generated)
    expect(readFileSync(GENERATED_TYPES, 'utf8')).toBe(generated)
  })
})
