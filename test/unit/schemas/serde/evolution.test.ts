import { describe, expect, it } from 'vitest'
import { MemorySchemaLookup, schemaCatalog } from '../../../../schemas/index.js'
import { createRegistrySerde } from '../../../../schemas/serde/registry-serde.js'
import { createSingleObjectSerde } from '../../../../schemas/serde/single-object-serde.js'
import { AGENT_CREATED_V1, SAMPLES } from '../fixtures/sample-events.js'
import {
  familyWith,
  schemaJson,
  version,
  withNewPayloadBranch,
  withNewStatusSymbol,
} from '../fixtures/schema-variants.js'

const shipped = schemaCatalog().agent_events
const v1 = version('agent_events', schemaJson('history/agent-events.v1.avsc'), 1)
const v2 = version('agent_events', schemaJson('history/agent-events.v2.avsc'), 2)
const v3 = version('agent_events', withNewPayloadBranch(), 3)
const agentCreatedV2 = SAMPLES.find((s) => s.name === 'AgentCreated')?.event
const paused = {
  event_id: '00000000-0000-4000-8000-000000000999',
  occurred_at: 0,
  agent_id: 'a-1',
  payload: { 'agent_party.events.AgentPaused': { reason: 'maintenance' } },
}

/** A registry serde whose reader is `reader`, sharing the id table with other serdes. */
function registrySerde(lookup: MemorySchemaLookup, reader: ReturnType<typeof version>) {
  return createRegistrySerde({
    family: 'agent_events',
    lookup,
    schemas: familyWith(reader, []),
    autoRegister: true,
  })
}

describe('registry encoding', () => {
  it('the current (v2) reader reads v1 data: the new optional field takes its default', async () => {
    const lookup = new MemorySchemaLookup()
    const writer = await registrySerde(lookup, v1)
    const reader = await createRegistrySerde({
      family: 'agent_events',
      lookup,
      schemas: shipped,
      autoRegister: true,
    })
    const value = await reader.deserializeAsync(writer.serialize(AGENT_CREATED_V1 as never))
    expect(value.payload).toEqual({
      'agent_party.events.AgentCreated': {
        ...AGENT_CREATED_V1.payload['agent_party.events.AgentCreated'],
        model: null,
      },
    })
  })

  it('a v1 reader reads v2 data: the field it does not know is skipped', async () => {
    const lookup = new MemorySchemaLookup()
    const writer = await registrySerde(lookup, v2)
    const reader = await registrySerde(lookup, v1)
    const value = await reader.deserializeAsync(writer.serialize(agentCreatedV2 as never))
    expect(value.payload).not.toHaveProperty(['agent_party.events.AgentCreated', 'model'])
    expect(value.payload).toMatchObject({ 'agent_party.events.AgentCreated': { name: 'researcher-1' } })
  })

  it('a new union branch gives a typed INCOMPATIBLE_WRITER_SCHEMA, not a crash, for every record of that writer', async () => {
    const lookup = new MemorySchemaLookup()
    const writer = await registrySerde(lookup, v3)
    const reader = await createRegistrySerde({
      family: 'agent_events',
      lookup,
      schemas: shipped,
      autoRegister: true,
    })
    const bytes = writer.serialize(paused as never)
    const location = { topic: 'agent_events', partition: 2, offset: 17n }
    await expect(reader.deserializeAsync(bytes, location)).rejects.toMatchObject({
      name: 'DecodeError',
      code: 'INCOMPATIBLE_WRITER_SCHEMA',
      details: { ...location, schemaId: writer.writerHeader.readInt32BE(1) },
    })
    // The writer cannot be resolved as a whole, so even its records of known types fail the same way.
    expect(() => reader.deserialize(writer.serialize(agentCreatedV2 as never))).toThrow(
      /cannot resolve the writer schema/,
    )
  })

  it('a symbol added to an enum with a default reads as the default in an old reader', async () => {
    const lookup = new MemorySchemaLookup()
    const writer = await registrySerde(lookup, version('agent_events', withNewStatusSymbol(), 3))
    const reader = await createRegistrySerde({
      family: 'agent_events',
      lookup,
      schemas: shipped,
      autoRegister: true,
    })
    const bytes = writer.serialize({
      ...paused,
      payload: { 'agent_party.events.AgentStatusChanged': { previous_status: 'IDLE', status: 'SUSPENDED' } },
    } as never)
    expect((await reader.deserializeAsync(bytes)).payload).toEqual({
      'agent_party.events.AgentStatusChanged': { previous_status: 'IDLE', status: 'UNKNOWN' },
    })
  })
})

describe('single-object encoding', () => {
  it('the current reader reads v1 data by its fingerprint (v1 is kept in history/)', () => {
    const writer = createSingleObjectSerde({ family: 'agent_events', schemas: familyWith(v1, []) })
    const reader = createSingleObjectSerde({ family: 'agent_events' })
    expect(reader.deserialize(writer.serialize(AGENT_CREATED_V1 as never)).payload).toMatchObject({
      'agent_party.events.AgentCreated': { name: 'coder-1', model: null },
    })
  })

  it('a v1 reader that knows v2 reads v2 data; one that does not gives UNKNOWN_FINGERPRINT', () => {
    const writer = createSingleObjectSerde({ family: 'agent_events', schemas: familyWith(v2, []) })
    const bytes = writer.serialize(agentCreatedV2 as never)
    const knowing = createSingleObjectSerde({ family: 'agent_events', schemas: familyWith(v1, [v1, v2]) })
    expect(knowing.deserialize(bytes).payload).not.toHaveProperty([
      'agent_party.events.AgentCreated',
      'model',
    ])
    const unaware = createSingleObjectSerde({ family: 'agent_events', schemas: familyWith(v1, [v1]) })
    expect(() => unaware.deserialize(bytes)).toThrow(expect.objectContaining({ code: 'UNKNOWN_FINGERPRINT' }))
  })

  it('a known writer with a new union branch gives INCOMPATIBLE_WRITER_SCHEMA', () => {
    const writer = createSingleObjectSerde({ family: 'agent_events', schemas: familyWith(v3, []) })
    const reader = createSingleObjectSerde({
      family: 'agent_events',
      schemas: familyWith(shipped.current, [v1, v2, v3]),
    })
    expect(() => reader.deserialize(writer.serialize(paused as never))).toThrow(
      expect.objectContaining({
        code: 'INCOMPATIBLE_WRITER_SCHEMA',
        details: { fingerprint: v3.fingerprintHex },
      }),
    )
  })
})
