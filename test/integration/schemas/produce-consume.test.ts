// The generator writing to the real broker through the project's idempotent producer, and the registry
// serdes reading it back: every record decodes to the event generated for it, keys are the entity ids,
// placed as the Java client places them, timestamps are the event times, and per key the order holds.
import { compatibilityPartitioner, type MessageToProduce } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createEventSerdes,
  type EventFamily,
  generateRecords,
  type ProduceProgress,
  produceEvents,
  registerEventSchemas,
} from '../../../schemas/index.js'
import { stackConfig, testPrefix } from '../../support/stack-env.js'
import { consumeRecords, type RawRecord } from './consume-records.js'
import { prefixedFamilies } from './prefixed-families.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const { topics, client, familyOf, createTopics, cleanUp } = prefixedFamilies(config, prefix)
const PARTITIONS = 3
const options = {
  seed: 'produce-consume',
  count: 4000,
  // A recent event time, so the broker's retention keeps the records.
  baseTime: Date.now() - 60_000,
  outOfOrderShare: 0.05,
  lateShare: 0.01,
  lateByMs: 20_000,
  duplicateShare: 0.02,
}

beforeAll(async () => {
  await createTopics(PARTITIONS)
  await registerEventSchemas(client, { topics })
})

afterAll(async () => {
  await cleanUp()
})

describe('produceEvents to Kafka, consumed back', () => {
  let progress: ProduceProgress[] = []
  let consumed: RawRecord[] = []

  beforeAll(async () => {
    progress = []
    await produceEvents({ ...options, batchSize: 500, topics, target: { kind: 'kafka', config } }, (p) =>
      progress.push(p),
    )
    consumed = await consumeRecords(config, Object.values(topics), options.count)
  })

  it('writes every record once, reporting progress per batch', () => {
    expect(consumed).toHaveLength(options.count)
    expect(progress.at(-1)).toMatchObject({ written: options.count, done: true })
    expect(progress.filter((p) => !p.done)).toHaveLength(options.count / 500)
  })

  it('decodes every record to the event generated for it, key and timestamp included, in per-key order', async () => {
    const serdes = await createEventSerdes({ registryUrl: config.schemaRegistry.url, topics })
    const expected = new Map<string, unknown[]>()
    for (const r of generateRecords(options)) {
      const list = expected.get(`${r.family}/${r.key}`) ?? []
      expected.set(`${r.family}/${r.key}`, [...list, r.event])
    }
    const actual = new Map<string, unknown[]>()
    const byPartition = [...consumed].sort((a, b) => Number(a.offset - b.offset))
    for (const record of byPartition) {
      const family = familyOf.get(record.topic) as EventFamily
      await serdes[family].prepare([record.value])
      const event = serdes[family].deserialize(record.value, record) as unknown as { occurred_at: number }
      expect(event.occurred_at).toBe(record.timestamp)
      const key = `${family}/${record.key.toString('utf8')}`
      actual.set(key, [...(actual.get(key) ?? []), event])
    }
    expect(actual).toEqual(expected)
  })

  it('places each key on the partition Java would choose', () => {
    const message = { topic: 't' } as MessageToProduce
    for (const record of consumed) {
      expect(record.partition).toBe(compatibilityPartitioner(message, record.key) % PARTITIONS)
    }
  })
})
