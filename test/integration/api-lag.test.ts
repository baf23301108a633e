// The lag exporter against the real broker: exact lag in messages, the time lag interpolated on the end
// offsets it sampled (with a controlled clock), a caught-up read_committed consumer of a transactional
// topic at lag 0, groups found by prefix and dropped once deleted, and a poll against no broker.
import { type Admin, FetchIsolationLevels, MessagesStreamModes, stringSerializers } from '@platformatic/kafka'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { LagExporter } from '../../api/lag/lag-exporter.js'
import {
  createAdmin,
  createConsumer,
  createProducer,
  createTransactionalProducer,
} from '../../kafka/clients.js'
import { readGroupLag } from '../../kafka/group-lag.js'
import { lagSeries } from '../support/api-fixtures.js'
import { createTestTopics, deleteTestTopics } from '../support/kafka.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const plainTopic = `${prefix}-plain`
const txnTopic = `${prefix}-txn`
const groups: string[] = []
let admin: Admin

function group(name: string): string {
  const id = `${prefix}-${name}`
  groups.push(id)
  return id
}

async function produce(topic: string, count: number, from = 0): Promise<void> {
  const producer = createProducer(config.kafka, { serializers: stringSerializers })
  try {
    await producer.send({
      messages: Array.from({ length: count }, (_, i) => ({
        topic,
        partition: 0,
        key: 'k',
        value: `v${from + i}`,
      })),
    })
  } finally {
    await producer.close()
  }
}

async function commit(groupId: string, topic: string, offset: number): Promise<void> {
  await admin.alterConsumerGroupOffsets({
    groupId,
    topics: [{ name: topic, partitionOffsets: [{ partition: 0, offset: BigInt(offset) }] }],
  })
}

beforeAll(async () => {
  await createTestTopics(config, [plainTopic, txnTopic], 1)
  admin = createAdmin(config.kafka, 'test')
})

afterAll(async () => {
  await admin.deleteGroups({ groups }).catch(() => {})
  await admin.close()
  await deleteTestTopics(config, [plainTopic, txnTopic])
})

describe('LagExporter against the broker', () => {
  it('exports the lag in messages and the time lag interpolated on the sampled end offsets', async () => {
    const g = group('steady')
    await produce(plainTopic, 10)
    await commit(g, plainTopic, 4)
    const registry = new Registry()
    const t1 = 1_700_000_000_000
    let now = t1
    const exporter = new LagExporter({ kafka: config.kafka, registry, groups: [g], now: () => now })
    try {
      const at = `${g}/${plainTopic}/0`
      await exporter.poll()
      // One sample (end 10 at t1): the time lag is its lower bound, 0 at the first sample.
      expect(await lagSeries(registry, 'kafka_consumergroup_lag')).toEqual({ [at]: 6 })
      expect(await lagSeries(registry, 'kafka_consumergroup_lag_seconds')).toEqual({ [at]: 0 })

      await produce(plainTopic, 10, 10)
      now = t1 + 10_000
      await exporter.poll()
      // End 10 at t1, 20 at t1 + 10 s: 1 s per offset; offset 4 is extrapolated 6 s before t1.
      expect(await lagSeries(registry, 'kafka_consumergroup_lag')).toEqual({ [at]: 16 })
      expect(await lagSeries(registry, 'kafka_consumergroup_lag_seconds')).toEqual({ [at]: 16 })

      await commit(g, plainTopic, 15)
      now = t1 + 15_000
      await exporter.poll()
      // Offset 15 lies halfway between (10, t1) and (20, t1 + 10 s): t1 + 5 s, 10 s before now.
      expect(exporter.snapshot()).toEqual([
        { group: g, topic: plainTopic, partition: 0, committed: 15, end: 20, lag: 5, lagSeconds: 10 },
      ])
      expect(await lagSeries(registry, 'kafka_consumergroup_lag_seconds')).toEqual({ [at]: 10 })

      await commit(g, plainTopic, 20)
      now = t1 + 20_000
      await exporter.poll()
      expect(await lagSeries(registry, 'kafka_consumergroup_lag')).toEqual({ [at]: 0 })
      expect(await lagSeries(registry, 'kafka_consumergroup_lag_seconds')).toEqual({ [at]: 0 })
      expect(await lagSeries(registry, 'kafka_lag_exporter_poll_failures_total')).toEqual({ '': 0 })
    } finally {
      await exporter.close()
    }
  })

  it('shows lag 0 for a read_committed consumer that read every committed record of a transactional topic', async () => {
    // Offsets 0-2 committed (commit marker at 3), 4-5 aborted (abort marker at 6): the end is 7.
    const producer = createTransactionalProducer(config.kafka, `${prefix}-txn`, {
      serializers: stringSerializers,
    })
    try {
      const committed = await producer.beginTransaction()
      await committed.send({
        messages: [0, 1, 2].map((i) => ({ topic: txnTopic, partition: 0, key: 'k', value: `c${i}` })),
      })
      await committed.commit()
      const aborted = await producer.beginTransaction()
      await aborted.send({
        messages: [0, 1].map((i) => ({ topic: txnTopic, partition: 0, key: 'k', value: `a${i}` })),
      })
      await aborted.abort()
    } finally {
      await producer.close()
    }
    // A real consumer, as the client's message stream reads and commits: last record read + 1.
    const reader = group('reader')
    const consumer = createConsumer(config.kafka, reader, {
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      autocommit: false,
    })
    try {
      const stream = await consumer.consume({ topics: [txnTopic], mode: MessagesStreamModes.EARLIEST })
      let read = 0
      for await (const message of stream) {
        await message.commit()
        if (++read === 3) break
      }
      await stream.close()
    } finally {
      await consumer.close(true)
    }
    const behind = group('behind')
    await commit(behind, txnTopic, 2)

    const registry = new Registry()
    const exporter = new LagExporter({ kafka: config.kafka, registry, groups: [reader, behind] })
    try {
      // The markers are written just after the producer's calls return: wait for the end to reach 7.
      await vi.waitFor(
        async () => {
          await exporter.poll()
          expect(exporter.snapshot().map((e) => e.end)).toEqual([7, 7])
        },
        { timeout: 20_000, interval: 200 },
      )
      const [behindEntry, readerEntry] = exporter.snapshot()
      // The reader committed 3, four offsets below the end, all of them markers and aborted records.
      expect(readerEntry).toMatchObject({ group: reader, committed: 3, end: 7, lag: 0, lagSeconds: 0 })
      // A group below a committed record has lag, counted in offsets (markers included), as Kafka's tools do.
      expect(behindEntry).toMatchObject({ group: behind, committed: 2, end: 7, lag: 5 })
      expect(await lagSeries(registry, 'kafka_consumergroup_lag')).toEqual({
        [`${reader}/${txnTopic}/0`]: 0,
        [`${behind}/${txnTopic}/0`]: 5,
      })
      expect(await readGroupLag(config.kafka, reader)).toEqual([
        { group: reader, topic: txnTopic, partition: 0, committed: 3, end: 7, lag: 0 },
      ])
    } finally {
      await exporter.close()
    }
  })

  it('exports the groups found by prefix and drops a group once it is deleted', async () => {
    const found = group('prefixed-a')
    await commit(found, plainTopic, 1)
    const registry = new Registry()
    const exporter = new LagExporter({
      kafka: config.kafka,
      registry,
      groups: [],
      groupPrefixes: [`${prefix}-prefixed-`],
    })
    try {
      await exporter.poll()
      expect(exporter.snapshot()).toEqual([
        expect.objectContaining({ group: found, topic: plainTopic, committed: 1 }),
      ])
      expect(Object.keys(await lagSeries(registry, 'kafka_consumergroup_lag'))).toEqual([
        `${found}/${plainTopic}/0`,
      ])

      await admin.deleteGroups({ groups: [found] })
      await exporter.poll()
      expect(exporter.snapshot()).toEqual([])
      expect(await lagSeries(registry, 'kafka_consumergroup_lag')).toEqual({})
      expect(await lagSeries(registry, 'kafka_consumergroup_lag_seconds')).toEqual({})
    } finally {
      await exporter.close()
    }
  })

  it('counts a poll that cannot reach any broker, without throwing', async () => {
    const registry = new Registry()
    const exporter = new LagExporter({
      kafka: { ...config.kafka, bootstrapServers: ['127.0.0.1:1'] },
      registry,
      groups: ['any'],
    })
    try {
      await expect(exporter.poll()).resolves.toBeUndefined()
      expect(await lagSeries(registry, 'kafka_lag_exporter_poll_failures_total')).toEqual({ '': 1 })
      expect(exporter.snapshot()).toEqual([])
    } finally {
      await exporter.close()
    }
  })
})
