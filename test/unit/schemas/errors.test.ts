import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { DecodeError, decodeErrorCodes, SchemaError, schemaErrorCodes } from '../../../schemas/index.js'

const readme = readFileSync(new URL('../../../schemas/README.md', import.meta.url), 'utf8')

describe('schema error codes', () => {
  it.each(Object.keys(schemaErrorCodes))('%s is documented in schemas/README.md', (code) => {
    expect(readme).toContain(`\`${code}\``)
  })

  it('only REGISTRY_UNAVAILABLE and SCHEMA_NOT_PREPARED are retryable', () => {
    const retryable = Object.entries(schemaErrorCodes).filter(([, c]) => c.retryable)
    expect(retryable.map(([code]) => code).sort()).toEqual(['REGISTRY_UNAVAILABLE', 'SCHEMA_NOT_PREPARED'])
  })

  it('a decode error gives the dead-letter fields, and only those it knows', () => {
    const error = new DecodeError('UNKNOWN_SCHEMA_ID', 'no schema 7', {
      topic: 'agent_events',
      partition: 3,
      offset: 42n,
      schemaId: 7,
      cause: new Error('404'),
    })
    expect(error).toBeInstanceOf(SchemaError)
    expect(error.toDeadLetter()).toEqual({
      code: 'UNKNOWN_SCHEMA_ID',
      reason: 'no schema 7',
      topic: 'agent_events',
      partition: 3,
      offset: 42n,
      schemaId: 7,
    })
    expect(new DecodeError('NOT_AVRO', 'x').toDeadLetter()).toEqual({ code: 'NOT_AVRO', reason: 'x' })
    expect(decodeErrorCodes).toContain(error.code)
  })
})
