// Nothing is lost on bad input: records the pipeline cannot decode (bytes that are not Avro, a
// writer schema from a producer ahead of the pipeline) go, byte for byte, to a dead-letter topic
// with the reason and their origin in headers, in the same transaction as the offsets that skip them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createProducer, createTransactionalProducer } from '../../kafka/clients.js'
import { DEAD_LETTER_HEADERS, deadLetterRecord, readDeadLetterHeaders } from '../../kafka/dead-letter.js'
import {
  createEventSerdes,
  isDecodeError,
  RegistryClient,
  registerEventSchemas,
  valueSubject,
} from '../../schemas/index.js'
import { registrySchemaLookup } from '../../schemas/registry/schema-lookup.js'
import { createRegistrySerde } from '../../schemas/serde/registry-serde.js'
import { createTestTopics, deleteTestTopics, readTopicRaw } from '../support/kafka.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'
import { familyWith, version, withNewPayloadBranch } from '../unit/schemas/fixtures/schema-variants.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const source = `${prefix}-agent_events`
const deadLetters = `${prefix}-dead-letters`
const client = new RegistryClient({ url: config.schemaRegistry.url })

beforeAll(async () => {
  await createTestTopics(config, [source, deadLetters], 3)
  await registerEventSchemas(client, { topics: { agent_events: source }, families: ['agent_events'] })
})

afterAll(async () => {
  await deleteTestTopics(config, [source, deadLetters])
  await client.deleteSubject(valueSubject(source), true)
})

describe('dead letters', () => {
  it('carry undecodable records with their reason and origin, byte for byte', async () => {
    const pipeline = await createEventSerdes({
      registryUrl: config.schemaRegistry.url,
      topics: { agent_events: source },
    })
    const good = pipeline.agent_events.serialize({
      event_id: '00000000-0000-4000-8000-000000000001',
      occurred_at: 1_767_225_600_000,
      agent_id: 'agent-good',
      payload: { 'agent_party.events.AgentTerminated': { reason: 'done' } },
    } as never)
    // A producer that already knows an event type the pipeline does not (it skipped the upgrade order).
    const ahead = await createRegistrySerde({
      family: 'agent_events',
      topic: source,
      lookup: registrySchemaLookup(client),
      schemas: familyWith(version('agent_events', withNewPayloadBranch(), 3), []),
      autoRegister: true,
    })
    const fromTheFuture = ahead.serialize({
      event_id: '00000000-0000-4000-8000-000000000002',
      occurred_at: 1_767_225_600_001,
      agent_id: 'agent-ahead',
      payload: { 'agent_party.events.AgentPaused': { reason: 'maintenance' } },
    } as never)
    const notAvro = Buffer.from('{"agent_id":"agent-json"}')

    const producer = createProducer(config.kafka)
    try {
      await producer.send({
        messages: [
          { topic: source, key: Buffer.from('agent-good'), value: good },
          {
            topic: source,
            key: Buffer.from('agent-ahead'),
            value: fromTheFuture,
            headers: new Map([[Buffer.from('trace'), Buffer.from('t-1')]]),
          },
          { topic: source, key: Buffer.from('agent-json'), value: notAvro },
        ],
      })
    } finally {
      await producer.close()
    }

    // The pipeline's side: decode each record; what fails goes to the dead-letter topic in a transaction.
    const consumed = await readTopicRaw(config, source, { expected: 3, isolation: 'read_committed' })
    expect(consumed).toHaveLength(3)
    await pipeline.agent_events.prepare(consumed.map((r) => r.value))
    const decoded: string[] = []
    const letters = []
    for (const record of consumed) {
      try {
        decoded.push(
          (pipeline.agent_events.deserialize(record.value as Buffer) as { agent_id: string }).agent_id,
        )
      } catch (error) {
        if (!isDecodeError(error)) throw error
        const { code, reason, ...details } = error.toDeadLetter()
        letters.push(deadLetterRecord(deadLetters, { ...record, topic: source }, { code, reason, details }))
      }
    }
    expect(decoded).toEqual(['agent-good'])
    const dlqProducer = createTransactionalProducer(config.kafka, `${prefix}-pipeline`)
    try {
      const transaction = await dlqProducer.beginTransaction()
      await transaction.send({ messages: letters })
      await transaction.commit()
    } finally {
      await dlqProducer.close()
    }

    const dead = await readTopicRaw(config, deadLetters, { expected: 2, isolation: 'read_committed' })
    const byKey = new Map(dead.map((r) => [r.key?.toString(), r]))
    expect([...byKey.keys()].sort()).toEqual(['agent-ahead', 'agent-json'])

    const aheadLetter = byKey.get('agent-ahead')
    const original = consumed.find((r) => r.key?.toString() === 'agent-ahead')
    expect(aheadLetter?.value?.equals(fromTheFuture)).toBe(true)
    const aheadHeaders = readDeadLetterHeaders(aheadLetter?.headers ?? new Map())
    expect(aheadHeaders[DEAD_LETTER_HEADERS.code]).toBe('INCOMPATIBLE_WRITER_SCHEMA')
    expect(aheadHeaders[DEAD_LETTER_HEADERS.reason]).toMatch(/AgentPaused|union|resolve/i)
    expect(aheadHeaders[DEAD_LETTER_HEADERS.topic]).toBe(source)
    expect(aheadHeaders[DEAD_LETTER_HEADERS.partition]).toBe(String(original?.partition))
    expect(aheadHeaders[DEAD_LETTER_HEADERS.offset]).toBe(String(original?.offset))
    expect(aheadHeaders[`${DEAD_LETTER_HEADERS.detail}schemaId`]).toBe(String(fromTheFuture.readInt32BE(1)))
    expect(aheadLetter?.timestamp).toBe(original?.timestamp)
    const trace = [...(aheadLetter?.headers ?? new Map<Buffer, Buffer>())].find(
      ([k]) => k.toString() === 'trace',
    )
    expect(trace?.[1].toString()).toBe('t-1')

    const jsonLetter = byKey.get('agent-json')
    expect(jsonLetter?.value?.equals(notAvro)).toBe(true)
    expect(readDeadLetterHeaders(jsonLetter?.headers ?? new Map())[DEAD_LETTER_HEADERS.code]).toBe('NOT_AVRO')
  })
})
