// What the engine does with a record it cannot process (Kafka Streams' deserialization and processing
// exception handlers, KIP-1033), and how it reads event time from a record (its TimestampExtractor).
// A bad record is never dropped silently: by default a record that does not deserialize, or whose
// timestamp is invalid, goes to the dead-letter output (RecordCollector.deadLetter), which the Kafka
// runtime produces in the same transaction as the offsets that skip it; 'continue' skips it and
// counts it in the metrics; 'fail' fails the task as before.
import type { RecordContext } from './processor.js'
import type { StreamRecord } from './stream-record.js'

/** Why a record went to the dead-letter output: a stable code, a sentence, and details. */
export interface DeadLetterCause {
  /** DESERIALIZATION_FAILED, INVALID_TIMESTAMP or PROCESSING_FAILED (or a handler's own). */
  readonly code: string
  readonly reason: string
  readonly details?: Readonly<Record<string, string | number | undefined>>
}

/** A record as it was read from its topic partition: bytes and place in the log. */
export interface RawRecord extends RecordContext {
  readonly topic: string
  readonly key: Buffer | null
  readonly value: Buffer | null
}

/** dead-letter: hand it to the collector's dead-letter output and go on; continue: skip it (counted). */
export type BadRecordResponse = 'fail' | 'continue' | 'dead-letter'

/** Decides per record; the cause says what went wrong (code DESERIALIZATION_FAILED or INVALID_TIMESTAMP). */
export type DeserializationExceptionHandler =
  | BadRecordResponse
  | ((record: RawRecord, error: unknown, cause: DeadLetterCause) => BadRecordResponse)

/**
 * For an error a processor (user code, or a sink's serializer) throws while processing a record
 * synchronously. Errors of asynchronous operators and punctuators still fail the task. Stores may have
 * seen part of the record's updates, as in Kafka Streams.
 */
export type ProcessingExceptionHandler =
  | BadRecordResponse
  | ((record: RawRecord, error: unknown, cause: DeadLetterCause) => BadRecordResponse)

/**
 * Event time of a record: a non-negative number of milliseconds. `partitionTime` is the largest
 * timestamp extracted so far from the record's partition (-1 before any). A negative, NaN or infinite
 * result (or a throw) sends the record to the deserialization exception handler with code
 * INVALID_TIMESTAMP.
 */
export type TimestampExtractor<K, V> = (
  record: StreamRecord<K, V>,
  partitionTime: number,
  source: RecordContext,
) => number
