import { beforeAll, describe, expect, it } from 'vitest'
import {
  createEventSerdes,
  type EventSerdes,
  MemorySchemaLookup,
  schemaCatalog,
} from '../../../../schemas/index.js'
import { SAMPLES } from '../fixtures/sample-events.js'

const catalog = schemaCatalog()
let registry: EventSerdes
let singleObject: EventSerdes
let lookup: MemorySchemaLookup

beforeAll(async () => {
  lookup = new MemorySchemaLookup(100)
  registry = await createEventSerdes({ lookup, autoRegister: true })
  singleObject = await createEventSerdes({ encoding: 'single-object' })
})

describe.each(['registry', 'single-object'] as const)('%s encoding', (encoding) => {
  const serdes = () => (encoding === 'registry' ? registry : singleObject)

  it.each(SAMPLES.map((s) => [`${s.family} ${s.name}`, s] as const))('round-trips %s', (_, sample) => {
    const serde = serdes()[sample.family]
    const bytes = serde.serialize(sample.event as never)
    expect(bytes.subarray(0, serde.writerHeader.length)).toEqual(serde.writerHeader)
    expect(serde.deserialize(bytes)).toEqual(sample.event)
  })
})

describe('registry encoding', () => {
  it('writes magic byte 0 and the id of <topic>-value, big-endian', async () => {
    const bytes = registry.task_events.serialize(
      SAMPLES.find((s) => s.name === 'TaskStarted')?.event as never,
    )
    const id = await lookup.writerId('task_events-value', catalog.task_events.current.text, {
      register: false,
    })
    expect(bytes[0]).toBe(0)
    expect(bytes.readInt32BE(1)).toBe(id)
  })

  it('does not register by default: a missing subject is SCHEMA_NOT_REGISTERED', async () => {
    await expect(createEventSerdes({ lookup: new MemorySchemaLookup() })).rejects.toMatchObject({
      code: 'SCHEMA_NOT_REGISTERED',
    })
  })

  it('uses the subject of the topic when topics are renamed', async () => {
    const memory = new MemorySchemaLookup()
    memory.register('t1-agents-value', catalog.agent_events.current.text)
    const serde = (
      await createEventSerdes({ lookup: memory, topics: { agent_events: 't1-agents' }, autoRegister: true })
    ).agent_events
    expect(serde.topic).toBe('t1-agents')
    expect(serde.writerHeader.readInt32BE(1)).toBe(
      memory.register('t1-agents-value', catalog.agent_events.current.text),
    )
  })

  it('deserializeAsync fetches a writer id it has not seen (another process registered it)', async () => {
    const shared = new MemorySchemaLookup()
    const writer = await createEventSerdes({ lookup: shared, autoRegister: true })
    const reader = await createEventSerdes({ lookup: shared })
    const sample = SAMPLES[0]
    const bytes = writer.agent_events.serialize(sample?.event as never)
    expect(await reader.agent_events.deserializeAsync(bytes)).toEqual(sample?.event)
  })
})

describe('single-object encoding', () => {
  it('writes C3 01 and the little-endian CRC-64-AVRO fingerprint of the current schema', () => {
    const bytes = singleObject.agent_events.serialize(SAMPLES[0]?.event as never)
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]))
    expect(bytes.readBigUInt64LE(2)).toBe(catalog.agent_events.current.fingerprint)
  })
})
