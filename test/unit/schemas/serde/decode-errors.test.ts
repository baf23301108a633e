import { beforeAll, describe, expect, it } from 'vitest'
import {
  createEventSerdes,
  DecodeError,
  type EventSerdes,
  MemorySchemaLookup,
  SchemaError,
} from '../../../../schemas/index.js'
import { SAMPLES } from '../fixtures/sample-events.js'

const where = { topic: 'team_events', partition: 5, offset: 1234n }
const teamFormed = SAMPLES.find((s) => s.name === 'TeamFormed')?.event
let registry: EventSerdes
let singleObject: EventSerdes

beforeAll(async () => {
  registry = await createEventSerdes({ lookup: new MemorySchemaLookup(), autoRegister: true })
  singleObject = await createEventSerdes({ encoding: 'single-object' })
})

function decodeError(run: () => unknown): DecodeError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError)
    return error as DecodeError
  }
  throw new Error('no error')
}

describe.each(['registry', 'single-object'] as const)('%s encoding', (encoding) => {
  const serde = () => (encoding === 'registry' ? registry : singleObject).team_events
  const headerSize = encoding === 'registry' ? 5 : 10

  it('NOT_AVRO for bytes with another first byte (JSON, say), with the location', () => {
    const error = decodeError(() => serde().deserialize(Buffer.from('{"team_id":"x"}'), where))
    expect(error.toDeadLetter()).toMatchObject({ code: 'NOT_AVRO', ...where })
  })

  it('NOT_AVRO for the other encoding', () => {
    const other = (encoding === 'registry' ? singleObject : registry).team_events.serialize(
      teamFormed as never,
    )
    expect(decodeError(() => serde().deserialize(other)).code).toBe('NOT_AVRO')
  })

  it('TRUNCATED for every cut of a valid value, header or body', () => {
    const bytes = serde().serialize(teamFormed as never)
    for (let length = 0; length < bytes.length; length++) {
      const error = decodeError(() => serde().deserialize(bytes.subarray(0, length), where))
      expect(error.code, `cut at ${length}`).toBe('TRUNCATED')
    }
  })

  it('MALFORMED_BODY for bytes left over after the body', () => {
    const bytes = Buffer.concat([serde().serialize(teamFormed as never), Buffer.from([0, 0])])
    expect(decodeError(() => serde().deserialize(bytes)).message).toMatch(/2 bytes left over/)
  })

  it('MALFORMED_BODY for a union index the writer schema does not have, with the writer named', () => {
    const bytes = serde().serialize(teamFormed as never)
    // Rewrite the body: an empty event_id and team_id, occurred_at 0, then union index 40 (zigzag 80).
    const body = Buffer.from([0, 0, 0, 80])
    const error = decodeError(() =>
      serde().deserialize(Buffer.concat([bytes.subarray(0, headerSize), body]), where),
    )
    expect(error.code).toBe('MALFORMED_BODY')
    expect(error.toDeadLetter()).toMatchObject(
      encoding === 'registry'
        ? { schemaId: bytes.readInt32BE(1) }
        : { fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) },
    )
  })
})

describe('registry encoding', () => {
  it('UNKNOWN_SCHEMA_ID for an id the registry does not have, after prepare', async () => {
    const bytes = Buffer.concat([Buffer.from([0, 0, 0, 0x30, 0x39]), Buffer.from([0])])
    await registry.team_events.prepare([bytes, null, undefined, Buffer.from('junk')])
    const error = decodeError(() => registry.team_events.deserialize(bytes, where))
    expect(error.toDeadLetter()).toMatchObject({ code: 'UNKNOWN_SCHEMA_ID', schemaId: 12345, ...where })
    await expect(registry.team_events.deserializeAsync(bytes)).rejects.toMatchObject({
      code: 'UNKNOWN_SCHEMA_ID',
    })
  })

  it('SCHEMA_NOT_PREPARED (not a DecodeError: never dead-letter on it) for an id not fetched yet', () => {
    const bytes = Buffer.from([0, 0, 0, 0x10, 0x00, 0])
    let caught: unknown
    try {
      registry.team_events.deserialize(bytes)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(SchemaError)
    expect(caught).not.toBeInstanceOf(DecodeError)
    expect(caught).toMatchObject({ code: 'SCHEMA_NOT_PREPARED', retryable: true })
  })

  it('a registry that cannot be reached rejects prepare with the retryable REGISTRY_UNAVAILABLE', async () => {
    const failing = new MemorySchemaLookup()
    failing.schemaById = async () => {
      throw new SchemaError('REGISTRY_UNAVAILABLE', 'connection refused')
    }
    const serdes = await createEventSerdes({ lookup: failing, autoRegister: true })
    await expect(serdes.team_events.prepare([Buffer.from([0, 0, 0, 0, 99, 0])])).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
      retryable: true,
    })
  })
})

describe('single-object encoding', () => {
  it('UNKNOWN_FINGERPRINT for a fingerprint no kept version has', () => {
    const bytes = Buffer.from([0xc3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0])
    const error = decodeError(() => singleObject.team_events.deserialize(bytes, where))
    expect(error.toDeadLetter()).toMatchObject({
      code: 'UNKNOWN_FINGERPRINT',
      fingerprint: '0807060504030201',
      ...where,
    })
  })
})

describe('encoding', () => {
  it('INVALID_EVENT names the fields that do not fit the schema', () => {
    const bad = { ...(teamFormed as object), team_id: 42 }
    expect(() => singleObject.team_events.serialize(bad as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_EVENT', message: expect.stringMatching(/team_id = 42/) }),
    )
  })

  it('encodes values larger than the scratch buffer', () => {
    const big = { ...(teamFormed as object), team_id: 'x'.repeat(100_000) }
    expect(singleObject.team_events.deserialize(singleObject.team_events.serialize(big as never))).toEqual(
      big,
    )
  })
})
