// Debian's kcat as a producer outside the project: registry-encoded events from a fixture file, keys
// and Confluent-framed values as raw bytes, sent by kcat with Java's partitioner (murmur2_random)
// must decode to the fixture's events and land on the partition Java's murmur2 gives, on topics whose
// partition counts are not powers of two. Without kcat the test fails (CI installs it: apt-get
// install kcat).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compatibilityPartitioner, type MessageToProduce } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
import { kcatProduce, requireKcat } from './kcat.js'
import { prefixedFamilies } from './prefixed-families.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const brokers = config.kafka.bootstrapServers
const { topics, client, familyOf, createTopics, cleanUp } = prefixedFamilies(config, prefix)
/** Partitions of the event topics: not a power of two, where partitioners that are not Java's differ. */
const EVENT_PARTITIONS = 3
const placement = {
  three: `${prefix}-placement-3`,
  five: `${prefix}-placement-5`,
  kcatDefault: `${prefix}-placement-default-3`,
}
const dir = mkdtempSync(join(tmpdir(), 'kcat-interop-'))
const COUNT = 1000

/** Java's partition of a key: murmur2 (compatibilityPartitioner, checked against Java's table by the unit tests). */
function javaPartition(key: Buffer, partitions: number): number {
  return compatibilityPartitioner({ topic: '' } as MessageToProduce, key) % partitions
}

beforeAll(async () => {
  await createTopics(EVENT_PARTITIONS)
  await createTestTopics(config, [placement.three, placement.kcatDefault], 3)
  await createTestTopics(config, [placement.five], 5)
  await registerEventSchemas(client, { topics })
})

afterAll(async () => {
  await cleanUp()
  await deleteTestTopics(config, Object.values(placement))
  rmSync(dir, { recursive: true, force: true })
})

describe('kcat (Debian package kcat)', () => {
  it('is installed (CI: apt-get install kcat)', () => {
    expect(requireKcat()).toMatch(/kcat - Apache Kafka producer and consumer tool|^kcat|Version/i)
  })

  it('sends fixture events that the registry serdes decode, each key on its Java partition', async () => {
    requireKcat()
    const common = {
      seed: 'kcat-interop',
      count: COUNT,
      baseTime: Date.now() - 60_000,
      duplicateShare: 0.01,
      topics,
    }
    const registry = { encoding: 'registry' as const, registryUrl: config.schemaRegistry.url }
    const binary = join(dir, 'fixture.bin')
    const jsonl = join(dir, 'fixture.jsonl')
    await produceEvents({ ...common, ...registry, target: { kind: 'file', path: binary, format: 'binary' } })
    await produceEvents({ ...common, ...registry, target: { kind: 'file', path: jsonl, format: 'jsonl' } })
    const fixture = decodeFixtureFile(readFileSync(binary))
    const events = decodeJsonlFile(readFileSync(jsonl, 'utf8')).map((l) => l.event as { event_id: string })
    expect(fixture).toHaveLength(COUNT)

    for (const topic of Object.values(topics)) {
      const records = fixture.filter((r) => r.topic === topic).map((r) => ({ key: r.key, value: r.value }))
      await kcatProduce({ brokers, topic, records, dir })
    }

    const consumed = await consumeRecords(config, Object.values(topics), COUNT)
    expect(consumed).toHaveLength(COUNT)
    const serdes = await createEventSerdes({ registryUrl: config.schemaRegistry.url, topics })
    const sent = new Set(fixture.map((r) => `${r.topic} ${r.key.toString('hex')} ${r.value.toString('hex')}`))
    const decoded = new Map<string, unknown>()
    for (const record of consumed) {
      const where = `${record.topic}/${record.partition}@${record.offset} key ${record.key.toString('utf8')}`
      // The bytes arrive as they were in the fixture file: kcat neither lost nor added any.
      expect(
        sent.has(`${record.topic} ${record.key.toString('hex')} ${record.value.toString('hex')}`),
        where,
      ).toBe(true)
      expect(record.partition, where).toBe(javaPartition(record.key, EVENT_PARTITIONS))
      const serde = serdes[familyOf.get(record.topic) as EventFamily]
      await serde.prepare([record.value])
      const event = serde.deserialize(record.value, record) as unknown as { event_id: string }
      decoded.set(event.event_id, event)
    }
    expect(decoded.size).toBe(new Set(events.map((e) => e.event_id)).size)
    for (const event of events) expect(decoded.get(event.event_id)).toEqual(event)
  })

  it("places the keys of Java's table on 3 and 5 partitions as Java does, and only with murmur2_random", async () => {
    requireKcat()
    const records = JAVA_PARTITIONS.map(([key]) => ({
      key: Buffer.from(key, 'utf8'),
      value: Buffer.from('kcat'),
    }))
    await kcatProduce({ brokers, topic: placement.three, records, dir })
    await kcatProduce({ brokers, topic: placement.five, records, dir })
    await kcatProduce({ brokers, topic: placement.kcatDefault, records, dir, partitioner: 'default' })
    const consumed = await consumeRecords(config, Object.values(placement), 3 * JAVA_PARTITIONS.length)
    expect(consumed).toHaveLength(3 * JAVA_PARTITIONS.length)

    const java = new Map(
      JAVA_PARTITIONS.map(([key, p3, p5]) => [key, { [placement.three]: p3, [placement.five]: p5 }]),
    )
    let defaultMatches = 0
    for (const record of consumed) {
      const key = record.key.toString('utf8')
      const expected = java.get(key)
      if (record.topic === placement.kcatDefault) {
        if (record.partition === expected?.[placement.three]) defaultMatches++
        continue
      }
      expect(record.partition, `${key} on ${record.topic}`).toBe(expected?.[record.topic])
    }
    // kcat's default partitioner (consistent_random: CRC32) puts some keys elsewhere: the reason
    // producers must pass -X topic.partitioner=murmur2_random.
    expect(defaultMatches).toBeLessThan(JAVA_PARTITIONS.length)
  })
})
