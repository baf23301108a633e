// How a commit reaches Kafka. Exactly-once: one transaction holds the interval's output, changelog and
// dead-letter records and the consumed offsets (TxnOffsetCommit with the group's generation and member
// id, so a member the group has moved past is fenced); at-least-once: idempotent sends, then an
// offset commit. Either way the caller learns whether the work is durable or must be redone.
//
// Records can be handed off before their commit (as Kafka Streams' record collector sends each record
// at once): they travel in the transaction the next commit completes, while processing goes on, so a
// record's results leave the process within a round instead of waiting for the commit interval. A send
// that fails makes that commit fail; records handed off and then discarded (the tasks that made them
// rebuilt from the last commit) are aborted with their transaction, never seen by read_committed.
import {
  type Consumer,
  kGetApi,
  kGetConnection,
  kMetadata,
  kPerformWithRetry,
  type MessageToProduce,
  type Producer,
} from '@platformatic/kafka'
import { internalsOf } from '../../kafka/client-internals.js'
import type { TopicPartitionOffset } from '../internals/runtime/stream-task.js'

export type OutgoingRecord = MessageToProduce<Buffer, Buffer, Buffer, Buffer>

/**
 * A slice holds at most this many bytes (keys, values, headers) of one topic: the client puts all
 * records of a partition of one request in one batch, which the broker refuses above its
 * message.max.bytes (1 MiB by default), and a changelog, a dead-letter or a late-record partition can
 * take a whole commit. Bounding a topic's bytes bounds each of its partitions' batch.
 */
const TOPIC_SLICE_BYTES = 768 * 1024
/**
 * And at most this many bytes in all. The idempotent producer has one request in flight per broker,
 * so each slice costs a round trip: a commit's cache flush of 100k records went out as ~35 requests
 * of 768 KiB one after the other. One request may carry many topics, each under its own bound, and
 * stays far below the broker's socket.request.max.bytes (100 MiB).
 */
const REQUEST_SLICE_BYTES = 16 * 1024 * 1024
const RECORD_OVERHEAD = 40

/**
 * Consecutive slices of `records`, each with at most TOPIC_SLICE_BYTES of any topic and
 * REQUEST_SLICE_BYTES in all (one record per slice at least): one produce request each.
 */
export function sendSlices(records: OutgoingRecord[]): OutgoingRecord[][] {
  const slices: OutgoingRecord[][] = []
  let current: OutgoingRecord[] = []
  let bytes = 0
  const topicBytes = new Map<string, number>()
  for (const record of records) {
    let size = RECORD_OVERHEAD + (record.key?.length ?? 0) + (record.value?.length ?? 0)
    if (record.headers instanceof Map) for (const [k, v] of record.headers) size += k.length + v.length + 2
    const topicTotal = (topicBytes.get(record.topic) ?? 0) + size
    if (current.length > 0 && (topicTotal > TOPIC_SLICE_BYTES || bytes + size > REQUEST_SLICE_BYTES)) {
      slices.push(current)
      current = []
      bytes = 0
      topicBytes.clear()
    }
    current.push(record)
    bytes += size
    topicBytes.set(record.topic, (topicBytes.get(record.topic) ?? 0) + size)
  }
  if (current.length > 0) slices.push(current)
  return slices
}

/**
 * Records made only when their turn to be sent comes (the producer thread's packed batches). A batch
 * queued behind a slower send then stays one buffer instead of ~400 bytes of objects per record (the
 * record, Buffers for key and value, a BigInt timestamp), and a batch that cannot be made fails the
 * commit it belongs to, like a failed send.
 */
export interface DeferredRecords {
  readonly count: number
  make(): OutgoingRecord[]
}

type RecordBatch = OutgoingRecord[] | DeferredRecords

function countOf(batch: RecordBatch): number {
  return Array.isArray(batch) ? batch.length : batch.count
}

function recordsOf(batch: RecordBatch): OutgoingRecord[] {
  return Array.isArray(batch) ? batch : batch.make()
}

export interface Committer {
  /**
   * Before the first task restores: under exactly-once, registers the transactional id, which
   * completes (aborts, or finishes committing) whatever transaction a previous run of this instance
   * left open, so that the changelogs and committed offsets read next already hold its outcome.
   */
  initialize(): Promise<void>
  /**
   * Starts sending `records` now, as part of the next commit (in its transaction with exactly-once);
   * a failure surfaces when that commit is awaited. Never call it while a commit is in flight.
   */
  handoff(records: OutgoingRecord[]): void
  /**
   * Drops what was handed off since the last commit: exactly-once aborts the open transaction (at
   * least once, what was sent stays sent). Synchronous; the next handoff or commit waits for it.
   */
  discard(): void
  /**
   * Makes `records`, those handed off before, and `offsets` durable together (or throws, in which
   * case none of them is, with exactly-once). `generationId` is the group generation the tasks that
   * consumed these offsets were assigned in: exactly-once commits the offsets under it, so that the
   * group coordinator refuses them (ILLEGAL_GENERATION) once the group has moved on, even when this
   * member has already joined the next generation.
   */
  commit(
    records: OutgoingRecord[],
    offsets: readonly TopicPartitionOffset[],
    generationId: number,
  ): Promise<void>
  close(): Promise<void>
}

/** Sends one at a time, in order, without blocking the caller: a failure stops the chain. */
class SendChain {
  #tail: Promise<void> = Promise.resolve()

  push(send: () => Promise<unknown>): void {
    this.#tail = this.#tail.then(async () => {
      await send()
    })
    // Taken by the commit that awaits the chain; never an unhandled rejection meanwhile.
    this.#tail.catch(() => {})
  }

  /** The chain so far (rejects with the first failure), and a new empty one. */
  take(): Promise<void> {
    const tail = this.#tail
    this.#tail = Promise.resolve()
    return tail
  }
}

// The client does not export its Transaction class from the package root.
type BufferTransaction = Awaited<ReturnType<Producer<Buffer, Buffer, Buffer, Buffer>['beginTransaction']>>

/** What a transactional commit reads of the consumer group member, at the time of each commit. */
export type GroupSource = Pick<Consumer, 'groupId' | 'memberId' | 'coordinatorId'>

export class TransactionalCommitter implements Committer {
  /** The transaction records were handed off to, begun at the first handoff after a commit. */
  #open: Promise<BufferTransaction> | undefined
  readonly #sends = new SendChain()
  /** A discarded transaction's abort, which the next transaction waits for. */
  #discarding: Promise<void> = Promise.resolve()

  constructor(
    private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>,
    private readonly consumer: GroupSource,
  ) {}

  async initialize(): Promise<void> {
    const transaction = await this.producer.beginTransaction()
    await transaction.cancel()
  }

  #begin(): Promise<BufferTransaction> {
    const open = this.#discarding.then(() => this.producer.beginTransaction())
    open.catch(() => {})
    return open
  }

  handoff(records: RecordBatch): void {
    if (countOf(records) === 0) return
    this.#open ??= this.#begin()
    const open = this.#open
    this.#sends.push(async () => {
      const transaction = await open
      for (const slice of sendSlices(recordsOf(records))) await transaction.send({ messages: slice })
    })
  }

  discard(): void {
    const open = this.#open
    this.#open = undefined
    const sends = this.#sends.take()
    if (open === undefined) return
    this.#discarding = (async () => {
      await sends.catch(() => {})
      const transaction = await open.catch(() => undefined)
      if (transaction !== undefined && !transaction.completed) await transaction.abort().catch(() => {})
    })()
  }

  async commit(
    records: RecordBatch,
    offsets: readonly TopicPartitionOffset[],
    generationId: number,
  ): Promise<void> {
    const open = this.#open
    this.#open = undefined
    const sends = this.#sends.take()
    if (open === undefined && countOf(records) === 0 && offsets.length === 0) return
    let transaction: BufferTransaction | undefined
    try {
      transaction = await (open ?? this.#begin())
      await sends
      for (const slice of sendSlices(recordsOf(records))) await transaction.send({ messages: slice })
      if (offsets.length > 0) {
        // AddOffsetsToTxn: the client reads only the consumer's group id.
        await transaction.addConsumer(this.consumer as Consumer)
        // Not the client's current generation: a member whose pre-join hook returned before this commit
        // has joined the next generation already, and its late commit of tasks it no longer owns must be
        // refused, not accepted under the new generation (their next owner may have restored already).
        await commitTransactionalOffsets(
          this.producer,
          transaction.id,
          {
            groupId: this.consumer.groupId,
            generationId,
            memberId: this.consumer.memberId ?? '',
            coordinatorId: this.consumer.coordinatorId ?? 0,
          },
          offsets,
        )
      }
      await transaction.commit()
    } catch (error) {
      if (transaction !== undefined && !transaction.completed) await transaction.abort().catch(() => {})
      throw error
    }
  }

  async close(): Promise<void> {
    await this.producer.close()
  }
}

export class AtLeastOnceCommitter implements Committer {
  readonly #sends = new SendChain()
  #handedOff = 0

  constructor(
    private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>,
    private readonly consumer: Consumer,
    private readonly beforeOffsetCommit?: (records: number) => void,
  ) {}

  async initialize(): Promise<void> {}

  handoff(records: OutgoingRecord[]): void {
    this.#handedOff += records.length
    for (const slice of sendSlices(records)) this.#sends.push(() => this.producer.send({ messages: slice }))
  }

  discard(): void {
    this.#handedOff = 0
    this.#sends.take().catch(() => {})
  }

  async commit(records: OutgoingRecord[], offsets: readonly TopicPartitionOffset[]): Promise<void> {
    const handedOff = this.#handedOff
    this.#handedOff = 0
    await this.#sends.take()
    for (const slice of sendSlices(records)) await this.producer.send({ messages: slice })
    this.beforeOffsetCommit?.(handedOff + records.length)
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

export interface GroupMember {
  readonly groupId: string
  readonly generationId: number
  readonly memberId: string
  readonly coordinatorId: number
}

/**
 * Every offset of a commit in one TxnOffsetCommit request. The client's `addOffset` sends one request
 * per partition, one after the other (it deduplicates concurrent ones): with a topology of many
 * sub-topologies a commit carries the offsets of hundreds of partitions (sources and repartition
 * topics), and those round trips were most of a commit's time. Built from the client's exported
 * building blocks (metadata, connection, versioned API, retry), as its own addOffset does.
 */
export async function commitTransactionalOffsets(
  producer: Producer<Buffer, Buffer, Buffer, Buffer>,
  transactionalId: string,
  member: GroupMember,
  offsets: readonly TopicPartitionOffset[],
): Promise<void> {
  const byTopic = new Map<string, TopicPartitionOffset[]>()
  for (const o of offsets) (byTopic.get(o.topic) ?? byTopic.set(o.topic, []).get(o.topic))?.push(o)
  const client = internalsOf(producer)
  await new Promise<void>((resolve, reject) => {
    client[kPerformWithRetry]<void>(
      'commit',
      (retry) => {
        client[kMetadata]({ topics: [...byTopic.keys()] }, (error, metadata) => {
          if (error) return retry(error)
          client[kGetConnection](metadata.brokers.get(member.coordinatorId), (error, connection) => {
            if (error) return retry(error)
            client[kGetApi]<(...args: unknown[]) => void>('TxnOffsetCommit', (error, api) => {
              if (error) return retry(error)
              const topics = [...byTopic].map(([name, list]) => ({
                name,
                partitions: list.map((o) => ({
                  partitionIndex: o.partition,
                  // The offset of the next record to read, as a consumer commits it.
                  committedOffset: BigInt(o.offset),
                  committedLeaderEpoch: metadata.topics.get(name)?.partitions[o.partition]?.leaderEpoch ?? -1,
                })),
              }))
              api(
                connection,
                transactionalId,
                member.groupId,
                producer.producerId,
                producer.producerEpoch,
                member.generationId,
                member.memberId,
                null,
                topics,
                (error: Error | null) => retry(error),
              )
            })
          })
        })
      },
      (error: Error | null) => (error ? reject(error) : resolve()),
    )
  })
}
