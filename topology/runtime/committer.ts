// How a commit reaches Kafka. Exactly-once: one transaction holds the interval's output, changelog and
// dead-letter records and the consumed offsets (TxnOffsetCommit with the group's generation and member
// id, so a member the group has moved past is fenced); at-least-once: an idempotent send, then an
// offset commit. Either way the caller learns whether the work is durable or must be redone.
import type { Consumer, MessageToProduce, Producer } from '@platformatic/kafka'
import type { TopicPartitionOffset } from '../internals/runtime/stream-task.js'

export type OutgoingRecord = MessageToProduce<Buffer, Buffer, Buffer, Buffer>

/**
 * Sends in slices of at most this many bytes (keys, values, headers): the client puts all records of a
 * partition of one request in one batch, which the broker refuses above its message.max.bytes (1 MiB by
 * default), and a changelog, a dead-letter or a late-record partition can take a whole commit.
 */
const SEND_SLICE_BYTES = 768 * 1024
const RECORD_OVERHEAD = 40

/** Consecutive slices of `records` of at most SEND_SLICE_BYTES each (one record per slice at least). */
export function sendSlices(records: OutgoingRecord[]): OutgoingRecord[][] {
  const slices: OutgoingRecord[][] = []
  let current: OutgoingRecord[] = []
  let bytes = 0
  for (const record of records) {
    let size = RECORD_OVERHEAD + (record.key?.length ?? 0) + (record.value?.length ?? 0)
    if (record.headers instanceof Map) for (const [k, v] of record.headers) size += k.length + v.length + 2
    if (current.length > 0 && bytes + size > SEND_SLICE_BYTES) {
      slices.push(current)
      current = []
      bytes = 0
    }
    current.push(record)
    bytes += size
  }
  if (current.length > 0) slices.push(current)
  return slices
}

export interface Committer {
  /**
   * Before the first task restores: under exactly-once, registers the transactional id, which
   * completes (aborts, or finishes committing) whatever transaction a previous run of this instance
   * left open, so that the changelogs and committed offsets read next already hold its outcome.
   */
  initialize(): Promise<void>
  /** Makes `records` and `offsets` durable together (or throws, in which case neither is). */
  commit(records: OutgoingRecord[], offsets: readonly TopicPartitionOffset[]): Promise<void>
  close(): Promise<void>
}

export class TransactionalCommitter implements Committer {
  constructor(
    private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>,
    private readonly consumer: Consumer,
  ) {}

  async initialize(): Promise<void> {
    const transaction = await this.producer.beginTransaction()
    await transaction.cancel()
  }

  async commit(records: OutgoingRecord[], offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (records.length === 0 && offsets.length === 0) return
    const transaction = await this.producer.beginTransaction()
    try {
      for (const slice of sendSlices(records)) await transaction.send({ messages: slice })
      if (offsets.length > 0) {
        await transaction.addConsumer(this.consumer)
        const consumer = {
          groupId: this.consumer.groupId,
          generationId: this.consumer.generationId,
          memberId: this.consumer.memberId ?? '',
          coordinatorId: this.consumer.coordinatorId ?? 0,
        }
        // One at a time: the client deduplicates concurrent offset commits of one transaction.
        for (const o of offsets) {
          await transaction.addOffset({
            topic: o.topic,
            partition: o.partition,
            // addOffset commits offset + 1, the next record to read.
            offset: BigInt(o.offset - 1),
            metadata: { consumer },
          } as never)
        }
      }
      await transaction.commit()
    } catch (error) {
      if (!transaction.completed) await transaction.abort().catch(() => {})
      throw error
    }
  }

  async close(): Promise<void> {
    await this.producer.close()
  }
}

export class AtLeastOnceCommitter implements Committer {
  constructor(
    private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>,
    private readonly consumer: Consumer,
    private readonly beforeOffsetCommit?: (records: number) => void,
  ) {}

  async initialize(): Promise<void> {}

  async commit(records: OutgoingRecord[], offsets: readonly TopicPartitionOffset[]): Promise<void> {
    for (const slice of sendSlices(records)) await this.producer.send({ messages: slice })
    this.beforeOffsetCommit?.(records.length)
    if (offsets.length > 0) {
      await this.consumer.commit({
        offsets: offsets.map((o) => ({
          topic: o.topic,
          partition: o.partition,
          offset: BigInt(o.offset),
          leaderEpoch: -1,
        })),
      })
    }
  }

  async close(): Promise<void> {
    await this.producer.close()
  }
}
