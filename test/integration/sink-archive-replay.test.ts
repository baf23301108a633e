// The archive end to end with real Kafka offsets: transactional writes (commit markers and aborted
// records leave gaps) fetched read_committed the way the sink runner fetches, archived, read back
// equal to what Kafka gave, and re-published into a replay topic that then reads like the original.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createConsumer, createProducer, createTransactionalProducer } from '../../kafka/clients.js'
import {
  type FetchedRecord,
  listOffsets,
  PartitionFetcher,
  type PartitionPosition,
  partitionKey,
} from '../../kafka/partition-fetcher.js'
import { ArchiveSinkTarget, removeUnder } from '../../sinks/s3/archive.js'
import { ArchiveReader, republish } from '../../sinks/s3/archive-reader.js'
import { createS3Client } from '../../sinks/s3/client.js'
import { createTestTopics, deleteTestTopics, readTopicRaw } from '../support/kafka.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const events = `${prefix}-events`
const replay = `${prefix}-replay`
const s3 = createS3Client(config.s3)
const keyPrefix = `${prefix}/`

beforeAll(async () => {
  await createTestTopics(config, [events, replay], 2)
})
afterAll(async () => {
  await deleteTestTopics(config, [events, replay])
  await removeUnder(s3, config.s3.bucket, keyPrefix)
})

/** Writes `rounds` transactions of 12 records, every third one aborted; returns the committed count. */
async function writeTransactions(rounds: number): Promise<number> {
  const producer = createTransactionalProducer(config.kafka, `${prefix}-tx`)
  let committed = 0
  try {
    for (let round = 0; round < rounds; round++) {
      const tx = await producer.beginTransaction()
      await tx.send({
        messages: Array.from({ length: 12 }, (_, i) => ({
          topic: events,
          key: Buffer.from(`agent-${(round * 12 + i) % 17}`),
          value: Buffer.from([0, 0, 0, 0, 3, round, i, 0xff]),
          timestamp: BigInt(1_790_000_000_000 + round * 1000 + i),
          headers: new Map([[Buffer.from('trace-id'), Buffer.from(`r${round}-${i}`)]]),
        })),
      })
      if (round % 3 === 2) await tx.abort()
      else {
        await tx.commit()
        committed += 12
      }
    }
  } finally {
    await producer.close()
  }
  return committed
}

describe('archive of real Kafka records', () => {
  it('archives every committed record, reads it back as Kafka gave it, and a replay topic reads the same', async () => {
    const committed = await writeTransactions(9)
    const sink = new ArchiveSinkTarget({
      client: s3,
      bucket: config.s3.bucket,
      prefix: keyPrefix,
      topics: [events],
      rangeRecords: 10,
      idleMs: 1_000,
    })
    await sink.open()
    const partitions = [0, 1].map((partition) => ({ topic: events, partition }))
    const stored = await sink.restart(partitions)
    expect(stored.size).toBe(0)

    // Fetch read_committed up to the last stable offset, as the runner does, applying each fetch.
    const consumer = createConsumer(config.kafka, `${prefix}-archive`)
    const fetched: FetchedRecord[] = []
    const ends = new Map<string, number>()
    try {
      const fetcher = new PartitionFetcher(consumer, { isolation: 'read_committed', maxWaitMs: 50 })
      const starts = await listOffsets(consumer, partitions, 'earliest')
      let positions: PartitionPosition[] = partitions.map((p) => ({
        ...p,
        offset: starts.get(partitionKey(p.topic, p.partition)) ?? 0,
      }))
      const done = () =>
        fetched.length >= committed &&
        positions.every(
          (p) => p.offset > (ends.get(partitionKey(p.topic, p.partition)) ?? Number.POSITIVE_INFINITY),
        )
      for (let round = 0; round < 200 && !done(); round++) {
        const batches = await fetcher.fetch(positions)
        await sink.apply(
          batches
            .filter((b) => b.nextOffset > (positions.find((p) => p.partition === b.partition)?.offset ?? 0))
            .map((b) => ({
              topic: b.topic,
              partition: b.partition,
              records: b.records.map((r) => ({
                offset: r.offset,
                timestamp: r.timestamp,
                key: r.key,
                value: r,
              })),
              lastOffset: b.nextOffset - 1,
            })),
        )
        for (const b of batches) {
          fetched.push(...b.records)
          ends.set(partitionKey(b.topic, b.partition), b.lastStableOffset - 1)
        }
        positions = positions.map((p) => ({
          ...p,
          offset: batches.find((b) => b.partition === p.partition)?.nextOffset ?? p.offset,
        }))
      }
    } finally {
      await consumer.close(true)
    }
    expect(fetched).toHaveLength(committed)
    await sink.tick(Date.now() + 2_000)

    const reader = new ArchiveReader({ client: s3, bucket: config.s3.bucket, prefix: keyPrefix })
    const archived: FetchedRecord[] = []
    for await (const r of reader.records(events)) archived.push(r)
    const byPartition = (list: FetchedRecord[]) =>
      [0, 1].flatMap((p) => list.filter((r) => r.partition === p).sort((a, b) => a.offset - b.offset))
    expect(archived).toEqual(byPartition(fetched))
    // Offsets have gaps (markers, aborted records), and every offset up to the end is covered.
    for (const p of [0, 1]) {
      const manifest = await reader.manifest(events, p)
      const offsets = archived.filter((r) => r.partition === p).map((r) => r.offset)
      if (offsets.length === 0) continue
      expect(offsets.at(-1) as number).toBeLessThan(manifest?.last as number)
      expect(manifest?.last).toBe(ends.get(partitionKey(events, p)))
      expect(manifest?.ranges[0]?.first).toBe(0)
    }
    const again = await new ArchiveSinkTarget({
      client: s3,
      bucket: config.s3.bucket,
      prefix: keyPrefix,
      topics: [events],
    }).restart(partitions)
    for (const p of [0, 1]) {
      expect(again.get(partitionKey(events, p))).toBe(ends.get(partitionKey(events, p)))
    }

    const producer = createProducer(config.kafka, { clientId: `${prefix}-replay` })
    try {
      expect(await republish(reader.records(events), producer, replay)).toBe(committed)
    } finally {
      await producer.close()
    }
    const replayed = await readTopicRaw(config, replay, { expected: committed, isolation: 'read_committed' })
    const shape = (r: {
      partition: number
      key?: Buffer | null
      value?: Buffer | null
      timestamp: unknown
    }) => ({
      partition: r.partition,
      key: r.key?.toString('hex'),
      value: r.value?.toString('hex'),
      timestamp: String(r.timestamp),
    })
    const sorted = [0, 1].flatMap((p) =>
      replayed.filter((r) => r.partition === p).sort((a, b) => Number(a.offset - b.offset)),
    )
    expect(sorted.map(shape)).toEqual(byPartition(fetched).map(shape))
    expect(sorted.map((r) => [...r.headers].map(([k, v]) => `${k}=${v}`))).toEqual(
      byPartition(fetched).map((r) => [...r.headers].map(([k, v]) => `${k}=${v}`)),
    )
  })
})
