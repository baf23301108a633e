// Kafka helpers for integration tests: read a topic back from the start with a chosen isolation
// level, and create/delete a test file's own topics.
import { FetchIsolationLevels, type RecordsBatch } from '@platformatic/kafka'
import type { Config } from '../../config/config.js'
import { createAdmin, createConsumer } from '../../kafka/clients.js'
import {
  listOffsets,
  PartitionFetcher,
  type PartitionPosition,
  partitionKey,
} from '../../kafka/partition-fetcher.js'
import { untilListed } from '../../kafka/topics.js'

export interface ReadRecord {
  key: string
  value: string
  partition: number
  offset: bigint
}

export interface RawRecord {
  topic: string
  key: Buffer | undefined
  value: Buffer | undefined
  headers: Map<Buffer, Buffer>
  timestamp: bigint
  partition: number
  offset: bigint
}

interface ReadOptions {
  expected: number
  isolation: 'read_committed' | 'read_uncommitted'
  quietMs?: number
  timeoutMs?: number
}

/**
 * Reads `topic` from the earliest offset in a throwaway group until `expected` records arrived and
 * no further record came for `quietMs` (so that extra records fail the test instead of hiding),
 * or until `timeoutMs`.
 */
export async function readTopic(config: Config, topic: string, options: ReadOptions): Promise<ReadRecord[]> {
  return (await readTopicRaw(config, topic, options)).map((r) => ({
    key: r.key?.toString() ?? '',
    value: r.value?.toString() ?? '',
    partition: r.partition,
    offset: r.offset,
  }))
}

/**
 * As readTopic, from one or more topics, with the bytes, headers and timestamps as they are in the log.
 * Reads with the runtime's PartitionFetcher, whose read_committed filter follows Kafka's rule (the
 * client's stream lets some aborted records through: see committedBatches()).
 */
export async function readTopicRaw(
  config: Config,
  topic: string | string[],
  options: ReadOptions,
): Promise<RawRecord[]> {
  const topics = Array.isArray(topic) ? topic : [topic]
  const consumer = createConsumer(config.kafka, `${topics[0]}-reader-${Date.now()}`)
  const records: RawRecord[] = []
  const quietMs = options.quietMs ?? 1000
  const deadline = Date.now() + (options.timeoutMs ?? 20_000)
  try {
    const fetcher = new PartitionFetcher(consumer, { isolation: options.isolation, maxWaitMs: 100 })
    const metadata = await consumer.metadata({ topics: [...topics], forceUpdate: true })
    const all = topics.flatMap((t) =>
      Array.from({ length: metadata.topics.get(t)?.partitionsCount ?? 0 }, (_, partition) => ({
        topic: t,
        partition,
      })),
    )
    const starts = await listOffsets(consumer, all, 'earliest')
    let positions: PartitionPosition[] = all.map((p) => ({
      ...p,
      offset: starts.get(partitionKey(p.topic, p.partition)) ?? 0,
    }))
    let lastArrival = Date.now()
    while (Date.now() < deadline) {
      if (records.length >= options.expected && Date.now() - lastArrival >= quietMs) break
      const fetched = await fetcher.fetch(positions)
      const next = new Map(positions.map((p) => [partitionKey(p.topic, p.partition), p]))
      for (const batch of fetched) {
        for (const r of batch.records) {
          records.push({
            topic: r.topic,
            key: r.key ?? undefined,
            value: r.value ?? undefined,
            headers: new Map([...r.headers].map(([k, v]) => [Buffer.from(k), v])),
            timestamp: BigInt(r.timestamp),
            partition: r.partition,
            offset: BigInt(r.offset),
          })
        }
        if (batch.records.length > 0) lastArrival = Date.now()
        next.set(partitionKey(batch.topic, batch.partition), {
          topic: batch.topic,
          partition: batch.partition,
          offset: batch.nextOffset,
        })
      }
      positions = [...next.values()]
      if (fetched.every((b) => b.records.length === 0)) await new Promise((r) => setTimeout(r, 50))
    }
  } finally {
    await consumer.close(true)
  }
  return records
}

/**
 * Creates test topics that keep their records whatever their timestamps (retention.ms=-1, unless
 * `configs` says otherwise). Tests write event times from fixed dates long past, and the stack's 24 h
 * retention would let the broker's periodic retention check delete a test's first segment while the
 * test reads it (it did: a test lost its first transaction).
 */
export async function createTestTopics(
  config: Config,
  topics: string[],
  partitions = 1,
  configs: Readonly<Record<string, string>> = { 'retention.ms': '-1' },
): Promise<void> {
  const admin = createAdmin(config.kafka, 'test')
  try {
    await admin.createTopics({
      topics,
      partitions,
      replicas: 1,
      configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
    })
    // CreateTopics answers before the metadata has them: a runtime started next would not find them.
    await untilListed(admin, topics)
  } finally {
    await admin.close()
  }
}

/**
 * Deletes the topics that exist, 20 per request, each request retried: a broker busy with a test
 * file's hundred topics (a topology's internal ones included) can time out one large request.
 */
export async function deleteTestTopics(config: Config, topics: string[]): Promise<void> {
  const admin = createAdmin(config.kafka, 'test')
  try {
    const present = new Set(await admin.listTopics())
    const mine = topics.filter((t) => present.has(t))
    for (let i = 0; i < mine.length; i += 20) {
      const chunk = mine.slice(i, i + 20)
      for (let attempt = 1; ; attempt++) {
        try {
          await admin.deleteTopics({ topics: chunk })
          break
        } catch (error) {
          const left = new Set(await admin.listTopics().catch(() => chunk))
          if (!chunk.some((t) => left.has(t))) break
          if (attempt >= 5) throw error
          await new Promise((resolve) => setTimeout(resolve, 1000 * attempt))
        }
      }
    }
  } finally {
    await admin.close()
  }
}

/**
 * Where records sit in the log, as read_uncommitted sees it: for each `partition:offset`, its batch
 * (producer id and epoch, transactional or not) and the fate of its transaction (the next control
 * marker of that producer in the partition: COMMIT, ABORT, or OPEN when none follows). Tells a window
 * committed twice (two COMMITs) from an aborted copy that a read_committed reader let through.
 */
export async function describeOffsets(
  config: Config,
  topic: string,
  ats: readonly string[],
): Promise<Map<string, string>> {
  const consumer = createConsumer(config.kafka, `${topic}-describe-${Date.now()}`)
  const out = new Map<string, string>()
  try {
    const metadata = await consumer.metadata({ topics: [topic], forceUpdate: true })
    const info = metadata.topics.get(topic)
    if (info === undefined) return out
    const wanted = new Map<number, number[]>()
    for (const at of ats) {
      const [p, o] = at.split(':').map(Number) as [number, number]
      ;(wanted.get(p) ?? wanted.set(p, []).get(p))?.push(o)
    }
    for (const [partition, offsets] of wanted) {
      const batches: RecordsBatch[] = []
      let next = 0
      for (let round = 0; round < 10_000; round++) {
        const response = await consumer.fetch({
          node: info.partitions[partition]?.leader ?? 0,
          isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
          maxWaitTime: 10,
          minBytes: 1,
          maxBytes: 32 * 1024 * 1024,
          topics: [
            {
              topicId: info.id,
              partitions: [
                {
                  partition,
                  fetchOffset: BigInt(next),
                  partitionMaxBytes: 8 * 1024 * 1024,
                  currentLeaderEpoch: -1,
                  lastFetchedEpoch: -1,
                },
              ],
            },
          ],
        } as never)
        const p = response.responses[0]?.partitions[0]
        const got = p?.records ?? []
        for (const b of got) {
          const last = Number(b.firstOffset) + b.lastOffsetDelta
          if (last >= next) {
            batches.push(b)
            next = last + 1
          }
        }
        if (p === undefined || next >= Number(p.highWatermark)) break
      }
      for (const offset of offsets) {
        const batch = batches.find(
          (b) => Number(b.firstOffset) <= offset && offset <= Number(b.firstOffset) + b.lastOffsetDelta,
        )
        if (batch === undefined) {
          out.set(`${partition}:${offset}`, 'no batch')
          continue
        }
        const transactional = (batch.attributes & 0x10) !== 0
        const marker = batches.find(
          (b) =>
            (b.attributes & 0x20) !== 0 &&
            b.producerId === batch.producerId &&
            b.firstOffset > batch.firstOffset,
        )
        const fate = !transactional
          ? 'not transactional'
          : marker === undefined
            ? 'OPEN'
            : marker.records[0]?.key?.readInt16BE(2) === 0
              ? `ABORT@${marker.firstOffset}`
              : `COMMIT@${marker.firstOffset}`
        out.set(
          `${partition}:${offset}`,
          `batch ${batch.firstOffset}+${batch.lastOffsetDelta} pid ${batch.producerId} epoch ${batch.producerEpoch} ${fate}`,
        )
      }
    }
  } finally {
    await consumer.close(true)
  }
  return out
}
