// The contract between the sink runner (sinks/runtime/sink-runner.ts: Kafka, batching, retries, dead
// letters, rebalances) and one sink target (Neo4j, Redis, the S3 archive: the data and the offsets it
// stores with the data). The runner never stores an offset itself: every target keeps, per
// (sink, topic, partition), the offset of the last record it applied, in the same atomic step as the
// data, and applies a record only when its offset is above that stored offset. That guard is what
// makes a batch applied twice (a crash between the database's commit and the runner learning of it,
// a zombie instance after a rebalance, a replayed fetch) change nothing.
import type { FetchedRecord } from '../../kafka/partition-fetcher.js'

export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

/** The records of one partition in one batch, in offset order, already decoded by the target. */
export interface PartitionBatch<T> {
  readonly topic: string
  readonly partition: number
  readonly records: readonly DecodedRecord<T>[]
  /**
   * The offset to store for this partition when the batch is applied: the offset of the last record
   * the batch covers. It can be above the last of `records` (records dead-lettered or skipped by the
   * runner are covered without being applied), and `records` can be empty (then only the stored
   * offset moves).
   */
  readonly lastOffset: number
}

export interface DecodedRecord<T> {
  readonly offset: number
  /** The record's timestamp (ms). */
  readonly timestamp: number
  readonly key: Buffer | null
  /** The record's headers (the runner always passes them). */
  readonly headers?: ReadonlyMap<string, Buffer>
  /** What `decode` returned; `null` for a tombstone (a record with a null value). */
  readonly value: T | null
}

/** A partition with an offset (the offset of the last record applied, for storeOffsets). */
export interface PartitionOffset extends TopicPartition {
  readonly offset: number
}

/** Stored offsets by `partitionKey(topic, partition)`; a partition absent from the map has none. */
export type StoredOffsets = ReadonlyMap<string, number>

export interface PartitionAudit {
  readonly offset: number | undefined
  readonly applied: number
}

export type FailureKind =
  /** The target is down or busy (connection refused, timeout, deadlock, failover): retry later. */
  | 'transient'
  /** The batch's data is refused (a constraint, a value the target cannot store): find the record. */
  | 'data'
  /** Neither retrying nor dropping a record helps (bad credentials, missing permissions): stop. */
  | 'fatal'

export interface SinkTarget<T> {
  /** The sink's id: the `sink` of its stored offsets, the `sink` label of its metrics, its group suffix. */
  readonly name: string
  /** The topics it consumes. */
  readonly topics: readonly string[]

  /** Connects and creates what the target needs (constraints, script, bucket). Called once, first. */
  open(): Promise<void>

  /**
   * Called once per fetched set of records before they are decoded, for what decoding needs and may
   * not do synchronously (a registry lookup of a writer schema). A failure is transient.
   */
  prepare?(records: readonly FetchedRecord[]): Promise<void>

  /**
   * Decodes one record (a null value stays null and never reaches decode). Throwing makes the record
   * a poison record: it goes to the dead-letter topic with the error's message as the reason.
   */
  decode(record: FetchedRecord): T

  /**
   * Forgets any state kept for these partitions that was not applied yet (a buffer, an open range)
   * and reads their stored offsets from the target. Called when partitions are assigned and after
   * every failed apply (the target may have come back from a restart behind what it acknowledged:
   * a Redis with AOF `everysec` can lose its last second, offsets included).
   */
  restart(partitions: readonly TopicPartition[]): Promise<StoredOffsets>

  /**
   * Applies a batch atomically (all of it or none of it): per partition, each record whose offset is
   * above the stored offset, then the stored offset set to `lastOffset` (never lowered). The batch
   * holds each partition at most once.
   */
  apply(batch: readonly PartitionBatch<T>[]): Promise<void>

  /**
   * The exactly-once audit: per partition, the stored offset and how many records the target has
   * applied (each record counted when its batch applied it, i.e. when its offset was above the stored
   * one), both stored in the same atomic step as the data. With nothing lost and nothing applied
   * twice, `applied` equals the number of records in the partition's log up to `offset` (minus the
   * dead-lettered ones). Optional.
   */
  audit?(partitions: readonly TopicPartition[]): Promise<ReadonlyMap<string, PartitionAudit>>

  /** Partitions moved to another instance: drop what is kept for them. Optional. */
  revoke?(partitions: readonly TopicPartition[]): Promise<void>

  /**
   * Called about every `tickMs` (the runner's option) with the wall clock, between batches: for work
   * a target does by time (the archive closes an idle range). Errors are handled as apply's.
   */
  tick?(now: number): Promise<void>

  /** How the runner treats an error thrown by `apply`, `restart`, `tick` or `prepare`. */
  classify(error: unknown): FailureKind

  /**
   * Deletes this sink's data and its stored offsets (every partition of its topics), for a replay.
   * Only with no runner of this sink alive.
   */
  reset(): Promise<void>

  /**
   * For a reset (ops/reset.ts), after reset() and with no runner of this sink alive: stores each
   * partition's offset as the last one applied, with no record counted as applied (the audit's
   * `applied` is 0), so that the next runner starts after it. A replay from earliest uses it to skip
   * the output records from before the rebuild. Optional: a target without it starts a reset
   * partition from the earliest offset.
   */
  storeOffsets?(offsets: readonly PartitionOffset[]): Promise<void>

  /** Whether the target answers now (for `/ready`). */
  ping(): Promise<boolean>

  close(): Promise<void>
}
