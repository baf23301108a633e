// The avsc types every schema of the project is built with (schemas/bounded-avro-types.ts): arrays
// and maps that refuse item counts the bytes left cannot hold, and otherwise read exactly what avsc
// reads. Counts here stay small enough that avsc without the bounds would finish quickly (and fail
// the assertions); the serde-level tests with 2^52 counts run in a worker (serde/hostile-bodies.test.ts).
import avsc, { type Schema } from 'avsc'
import { describe, expect, it } from 'vitest'
import {
  AvroBodyError,
  avroType,
  MAX_ZERO_SIZE_ITEMS,
  minEncodedSize,
} from '../../../schemas/bounded-avro-types.js'
import { EVENT_FAMILIES, generateRecords, schemaCatalog } from '../../../schemas/index.js'
import { bytes, zigzag } from './fixtures/hostile-bodies.js'

function bodyError(run: () => unknown): AvroBodyError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(AvroBodyError)
    return error as AvroBodyError
  }
  throw new Error('decoded without error')
}

const record = (name: string, ...types: unknown[]) => ({
  type: 'record',
  name,
  fields: types.map((type, i) => ({ name: `f${i}`, type })),
})

describe('minEncodedSize', () => {
  it.each([
    ['null', 0],
    ['boolean', 1],
    ['int', 1],
    ['long', 1],
    ['float', 4],
    ['double', 8],
    ['string', 1],
    ['bytes', 1],
    [{ type: 'fixed', name: 'F16', size: 16 }, 16],
    [{ type: 'fixed', name: 'F0', size: 0 }, 0],
    [{ type: 'enum', name: 'E', symbols: ['A'] }, 1],
    [['null', 'string'], 1],
    [{ type: 'array', items: 'double' }, 1],
    [{ type: 'map', values: 'double' }, 1],
    [{ type: 'long', logicalType: 'timestamp-millis' }, 1],
    [record('R', 'double', 'string', 'null'), 9],
    [record('Empty', 'null', { type: 'fixed', name: 'Z', size: 0 }), 0],
  ] as [Schema, number][])('%j: %d', (schema, size) => {
    expect(minEncodedSize(avroType(schema))).toBe(size)
  })

  it('a recursive record counts what it certainly holds', () => {
    const node = { type: 'record', name: 'Node', fields: [{ name: 'next', type: ['null', 'Node'] }] }
    expect(minEncodedSize(avroType(node as Schema))).toBe(1)
  })
})

describe('arrays and maps read with the bounds', () => {
  const capabilities = avroType({ type: 'array', items: record('Cap', 'string', 'string') } as Schema)
  const tokens = avroType({ type: 'map', values: 'long' })

  it('a count above the bytes left throws TRUNCATED (array and map)', () => {
    for (const type of [capabilities, tokens]) {
      for (const count of [1000, -1000]) {
        const body = count < 0 ? bytes(zigzag(count), zigzag(4), 2, 0x61, 2, 0x62) : bytes(zigzag(count), 0)
        expect(bodyError(() => type.decode(body, 0)).code).toBe('TRUNCATED')
      }
    }
  })

  it('the block-size form (negative count, byte size), as Java block encoders write it, reads as avsc does', () => {
    const plain = avsc.Type.forSchema({ type: 'array', items: record('Cap', 'string', 'string') } as Schema)
    // two blocks: [-1 item, 4 bytes] {a, b}, [1 item] {c, d}, end
    const body = bytes(zigzag(-1), zigzag(4), 2, 0x61, 2, 0x62, zigzag(1), 2, 0x63, 2, 0x64, 0)
    expect(capabilities.decode(body, 0)).toEqual(plain.decode(body, 0))
    expect(capabilities.decode(body, 0).value).toEqual([
      { f0: 'a', f1: 'b' },
      { f0: 'c', f1: 'd' },
    ])
    const map = bytes(zigzag(-2), zigzag(6), 2, 0x61, 2, 2, 0x62, 4, 0)
    expect(tokens.decode(map, 0).value).toEqual({ a: 1, b: 2 })
  })

  it('items of zero size are read up to MAX_ZERO_SIZE_ITEMS per array, MALFORMED_BODY beyond', () => {
    for (const items of ['null', { type: 'fixed', name: 'Z0', size: 0 }, record('Nothing', 'null')]) {
      const type = avroType({ type: 'array', items } as Schema)
      expect(type.decode(bytes(zigzag(5), 0), 0).value).toHaveLength(5)
      expect(type.decode(bytes(zigzag(MAX_ZERO_SIZE_ITEMS), 0), 0).value).toHaveLength(MAX_ZERO_SIZE_ITEMS)
      expect(bodyError(() => type.decode(bytes(zigzag(2 ** 52), 0), 0)).code).toBe('MALFORMED_BODY')
      expect(bodyError(() => type.decode(bytes(zigzag(MAX_ZERO_SIZE_ITEMS + 1), 0), 0)).code).toBe(
        'MALFORMED_BODY',
      )
      // The cap holds across blocks too.
      const half = zigzag(MAX_ZERO_SIZE_ITEMS / 2 + 1)
      expect(bodyError(() => type.decode(bytes(half, half, 0), 0)).code).toBe('MALFORMED_BODY')
    }
  })

  it('the types of the catalog are the bounded ones (direct and resolving reads)', () => {
    const { current, history } = schemaCatalog().agent_events
    const v1 = history[0]
    if (!v1) throw new Error('agent_events has no v1')
    // ids, AgentCreated, template_id, version, name, then 1000 capabilities in 2 bytes
    const body = bytes(0, 0, 0, 0, 0, 0, 0, zigzag(1000), 0)
    expect(bodyError(() => current.type.decode(body, 0)).code).toBe('TRUNCATED')
    const resolver = current.type.createResolver(v1.type)
    expect(bodyError(() => current.type.decode(body, 0, resolver)).code).toBe('TRUNCATED')
  })

  it('every generated event reads as avsc alone reads it, directly and through a resolver', () => {
    const catalog = schemaCatalog()
    const plain = Object.fromEntries(
      EVENT_FAMILIES.map((f) => [f, avsc.Type.forSchema(catalog[f].current.json as Schema)]),
    )
    const v1 = catalog.agent_events.history[0]
    if (!v1) throw new Error('agent_events has no v1')
    const bounded = catalog.agent_events.current.type.createResolver(v1.type)
    const unbounded = plain.agent_events?.createResolver(avsc.Type.forSchema(v1.json as Schema))
    let checked = 0
    let resolved = 0
    for (const { family, event } of generateRecords({ seed: 'bounded', count: 2000, baseTime: 0 })) {
      const type = catalog[family].current.type
      const encoded = type.toBuffer(event)
      expect(type.fromBuffer(encoded)).toEqual(plain[family]?.fromBuffer(encoded))
      if (family === 'agent_events') {
        // as a v1 producer writes it: AgentCreated without `model`
        const v1Event = structuredClone(event) as unknown as {
          payload: Record<string, Record<string, unknown>>
        }
        delete v1Event.payload['agent_party.events.AgentCreated']?.model
        const old = v1.type.toBuffer(v1Event)
        expect(type.fromBuffer(old, bounded)).toEqual(plain[family]?.fromBuffer(old, unbounded))
        resolved++
      }
      checked++
    }
    expect(checked).toBe(2000)
    expect(resolved).toBeGreaterThan(0)
  })
})
