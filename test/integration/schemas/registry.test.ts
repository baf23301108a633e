// The serdes against the real registry of the local stack (Apicurio, Confluent-compatible API):
// provisioning of prefixed subjects with BACKWARD_TRANSITIVE, resolution of an older writer fetched
// by id, the registry's 409 on an incompatible change, and the typed errors of unknown ids and of a
// producer ahead of the pipeline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createEventSerdes,
  EVENT_FAMILIES,
  registerEventSchemas,
  type SubjectRegistration,
  schemaCatalog,
  valueSubject,
} from '../../../schemas/index.js'
import { registrySchemaLookup } from '../../../schemas/registry/schema-lookup.js'
import { confluentHeader } from '../../../schemas/serde/confluent-wire-format.js'
import { createRegistrySerde } from '../../../schemas/serde/registry-serde.js'
import { stackConfig, testPrefix } from '../../support/stack-env.js'
import { AGENT_CREATED_V1, SAMPLES } from '../../unit/schemas/fixtures/sample-events.js'
import {
  familyWith,
  version,
  withNewPayloadBranch,
  withRequiredField,
} from '../../unit/schemas/fixtures/schema-variants.js'
import { prefixedFamilies } from './prefixed-families.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const { topics, client, cleanUp } = prefixedFamilies(config, prefix)
const agentSubject = valueSubject(topics.agent_events)
const catalog = schemaCatalog()
let registered: SubjectRegistration[]

beforeAll(async () => {
  registered = await registerEventSchemas(client, { topics })
})

afterAll(async () => {
  await cleanUp()
})

describe('provisioning (registerEventSchemas)', () => {
  it('registers every kept version under <topic>-value, oldest first, and sets BACKWARD_TRANSITIVE', async () => {
    expect(registered.map((r) => r.subject)).toEqual(EVENT_FAMILIES.map((f) => `${prefix}-${f}-value`))
    const agent = registered.find((r) => r.family === 'agent_events')
    expect(agent?.ids.map((i) => [i.version, i.registeredNow])).toEqual([
      [1, true],
      [2, true],
    ])
    expect(await client.versions(agentSubject)).toEqual([1, 2])
    for (const family of EVENT_FAMILIES) {
      expect(await client.getCompatibility(valueSubject(topics[family]))).toBe('BACKWARD_TRANSITIVE')
    }
  })

  it('is idempotent: a second run registers nothing and finds the same ids', async () => {
    const again = await registerEventSchemas(client, { topics })
    expect(again.flatMap((r) => r.ids.map((i) => i.registeredNow))).not.toContain(true)
    expect(again.map((r) => r.ids.map((i) => i.id))).toEqual(registered.map((r) => r.ids.map((i) => i.id)))
  })
})

describe('serdes on the registry', () => {
  it('find the current id without registering, and round-trip every event type', async () => {
    const serdes = await createEventSerdes({ registryUrl: config.schemaRegistry.url, topics })
    for (const family of EVENT_FAMILIES) {
      const current = registered.find((r) => r.family === family)?.ids.at(-1)?.id
      expect(serdes[family].writerHeader.readInt32BE(1)).toBe(current)
    }
    const reader = await createEventSerdes({ registryUrl: config.schemaRegistry.url, topics })
    for (const sample of SAMPLES) {
      const bytes = serdes[sample.family].serialize(sample.event as never)
      expect(await reader[sample.family].deserializeAsync(bytes)).toEqual(sample.event)
    }
  })

  it('resolve a v1 record (fetched by its id) into the current shape', async () => {
    const v1Id = registered.find((r) => r.family === 'agent_events')?.ids[0]?.id as number
    const v1 = version('agent_events', JSON.parse(await client.schemaById(v1Id)), 1)
    const bytes = Buffer.concat([confluentHeader(v1Id), v1.type.toBuffer(AGENT_CREATED_V1)])
    const serdes = await createEventSerdes({ registryUrl: config.schemaRegistry.url, topics })
    await serdes.agent_events.prepare([bytes])
    expect(serdes.agent_events.deserialize(bytes).payload).toMatchObject({
      'agent_party.events.AgentCreated': { name: 'coder-1', model: null },
    })
  })

  it('give UNKNOWN_SCHEMA_ID for an id the registry does not have', async () => {
    const serdes = await createEventSerdes({ registryUrl: config.schemaRegistry.url, topics })
    const bytes = Buffer.concat([confluentHeader(2_000_000_000), Buffer.from([0])])
    await expect(
      serdes.task_events.deserializeAsync(bytes, { topic: topics.task_events }),
    ).rejects.toMatchObject({
      name: 'DecodeError',
      code: 'UNKNOWN_SCHEMA_ID',
      details: { schemaId: 2_000_000_000, topic: topics.task_events },
    })
  })
})

describe('compatibility (BACKWARD_TRANSITIVE)', () => {
  it('the registry answers 409 to a new field without default: SCHEMA_INCOMPATIBLE', async () => {
    const breaking = JSON.stringify(withRequiredField())
    expect(await client.isCompatible(agentSubject, breaking)).toBe(false)
    await expect(client.register(agentSubject, breaking)).rejects.toMatchObject({
      code: 'SCHEMA_INCOMPATIBLE',
      details: { status: 409, subject: agentSubject },
    })
    expect(await client.versions(agentSubject)).toEqual([1, 2])
  })

  it('accepts a new event type; a pipeline not yet upgraded gets INCOMPATIBLE_WRITER_SCHEMA for it', async () => {
    const ahead = version('agent_events', withNewPayloadBranch(), 3)
    expect(await client.isCompatible(agentSubject, ahead.text)).toBe(true)
    const producer = await createRegistrySerde({
      family: 'agent_events',
      topic: topics.agent_events,
      lookup: registrySchemaLookup(client),
      schemas: familyWith(ahead, []),
      autoRegister: true,
    })
    const pipeline = await createEventSerdes({ registryUrl: config.schemaRegistry.url, topics })
    const bytes = producer.serialize({
      event_id: '00000000-0000-4000-8000-000000000777',
      occurred_at: 0,
      agent_id: 'a-1',
      payload: { 'agent_party.events.AgentPaused': { reason: 'maintenance' } },
    } as never)
    await expect(pipeline.agent_events.deserializeAsync(bytes)).rejects.toMatchObject({
      code: 'INCOMPATIBLE_WRITER_SCHEMA',
      details: { schemaId: producer.writerHeader.readInt32BE(1) },
    })
    expect(catalog.agent_events.current.text).not.toBe(ahead.text)
  })
})
