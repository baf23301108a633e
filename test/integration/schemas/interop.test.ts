// Producers outside the project: kafkajs posting raw bytes taken from a binary fixture file (as any
// client replaying a fixture would) must be decoded by the pipeline's serdes, and its default
// partitioner must place keys as the Java client does (checked against the table Java computed).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import kafkajs from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { kafkaSink } from '../../../schemas/generator/kafka-sink.js'
import {
  createEventSerdes,
  decodeFixtureFile,
  decodeJsonlFile,
  type EventFamily,
  produceEvents,
  registerEventSchemas,
} from '../../../schemas/index.js'
import { createTestTopics, deleteTestTopics } from '../../support/kafka.js'
import { stackConfig, testPrefix } from '../../support/stack-env.js'
import { JAVA_PARTITIONS } from '../../unit/schemas/fixtures/java-partitions.js'
import { consumeRecords } from './consume-records.js'
import { prefixedFamilies } from './prefixed-families.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const { topics, client, familyOf, createTopics, cleanUp } = prefixedFamilies(config, prefix)
const placement = { three: `${prefix}-placement-3`, five: `${prefix}-placement-5` }
const dir = mkdtempSync(join(tmpdir(), 'interop-'))
const kafka = new kafkajs.Kafka({
  clientId: `${prefix}-kafkajs`,
  brokers: config.kafka.bootstrapServers,
  logLevel: kafkajs.logLevel.WARN,
})
const producer = kafka.producer({
  createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  idempotent: true,
})
const COUNT = 1500

beforeAll(async () => {
  await createTopics(3)
  await createTestTopics(config, [placement.three], 3)
  await createTestTopics(config, [placement.five], 5)
  await registerEventSchemas(client, { topics })
  await producer.connect()
})

afterAll(async () => {
  await producer.disconnect()
  await cleanUp()
  await deleteTestTopics(config, [placement.three, placement.five])
  rmSync(dir, { recursive: true, force: true })
})

describe('kafkajs replaying a binary fixture file', () => {
  it('sends raw bytes that the registry serdes decode to the fixture events', async () => {
    const common = {
      seed: 'interop',
      count: COUNT,
      baseTime: Date.now() - 60_000,
      duplicateShare: 0.01,
      topics,
    }
    const binary = join(dir, 'fixture.bin')
    const jsonl = join(dir, 'fixture.jsonl')
    const registry = { encoding: 'registry' as const, registryUrl: config.schemaRegistry.url }
    await produceEvents({ ...common, ...registry, target: { kind: 'file', path: binary, format: 'binary' } })
    await produceEvents({ ...common, ...registry, target: { kind: 'file', path: jsonl, format: 'jsonl' } })
    const records = decodeFixtureFile(readFileSync(binary))
    const events = decodeJsonlFile(readFileSync(jsonl, 'utf8')).map((l) => l.event)

    for (let i = 0; i < records.length; i += 500) {
      const batch = records.slice(i, i + 500)
      await producer.sendBatch({
        topicMessages: Object.values(topics).map((topic) => ({
          topic,
          messages: batch
            .filter((r) => r.topic === topic)
            .map((r) => ({ key: r.key, value: r.value, timestamp: String(r.timestamp) })),
        })),
      })
    }

    const consumed = await consumeRecords(config, Object.values(topics), COUNT)
    expect(consumed).toHaveLength(COUNT)
    const serdes = await createEventSerdes({ registryUrl: config.schemaRegistry.url, topics })
    const decoded = new Map<string, unknown>()
    for (const record of consumed) {
      const serde = serdes[familyOf.get(record.topic) as EventFamily]
      await serde.prepare([record.value])
      const event = serde.deserialize(record.value) as unknown as { event_id: string }
      decoded.set(event.event_id, event)
    }
    for (const event of events) {
      expect(decoded.get((event as { event_id: string }).event_id)).toEqual(event)
    }
  })
})

describe('key placement of non-project producers and of ours, on 3 and 5 partitions', () => {
  const send = async (topic: string) =>
    producer.send({ topic, messages: JAVA_PARTITIONS.map(([key]) => ({ key, value: 'kafkajs' })) })

  it('kafkajs (DefaultPartitioner) and the generator sink both agree with Java', async () => {
    await send(placement.three)
    await send(placement.five)
    const sink = kafkaSink(config.kafka, `${prefix}-sink`)
    for (const topic of [placement.three, placement.five]) {
      await sink.write(
        JAVA_PARTITIONS.map(([key]) => ({
          topic,
          key: Buffer.from(key, 'utf8'),
          value: Buffer.from('ours'),
          timestamp: Date.now(),
          event: undefined,
        })),
      )
    }
    await sink.close()
    const consumed = await consumeRecords(
      config,
      [placement.three, placement.five],
      4 * JAVA_PARTITIONS.length,
    )
    const java = new Map(
      JAVA_PARTITIONS.map(([key, p3, p5]) => [key, { [placement.three]: p3, [placement.five]: p5 }]),
    )
    expect(consumed).toHaveLength(4 * JAVA_PARTITIONS.length)
    for (const record of consumed) {
      const where = `${record.value.toString()} ${record.key.toString('utf8')} on ${record.topic}`
      expect(record.partition, where).toBe(java.get(record.key.toString('utf8'))?.[record.topic])
    }
  })
})
