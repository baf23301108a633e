// How a commit reaches Kafka. Exactly-once: one transaction holds the interval's output, changelog and
// dead-letter records and the consumed offsets (TxnOffsetCommit with the group's generation and member
// id, so a member the group has moved past is fenced); at-least-once: an idempotent send, then an
// offset commit. Either way the caller learns whether the work is durable or must be redone.
import type { Consumer, MessageToProduce, Producer } from '@platformatic/kafka'
import type { TopicPartitionOffset } from '../internals/runtime/stream-task.js'

export type OutgoingRecord = MessageToProduce<Buffer, Buffer, Buffer, Buffer>

/** Sends in slices so that one produce request never grows without bound. */
const SEND_SLICE = 20_000

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
      for (let i = 0; i < records.length; i += SEND_SLICE) {
        await transaction.send({ messages: records.slice(i, i + SEND_SLICE) })
      }
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
    for (let i = 0; i < records.length; i += SEND_SLICE) {
      await this.producer.send({ messages: records.slice(i, i + SEND_SLICE) })
    }
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
