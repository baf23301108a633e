// The task's current record context, one mutable slot shared by its processors and stores, so that a
// store logs a change with the timestamp of the record that caused it without passing it on every call.
import type { RecordContext } from '../../processor.js'
import { NO_HEADERS } from '../../stream-record.js'

export interface RecordContextHolder {
  current: RecordContext | undefined
}

/** The context of records forwarded from a punctuation: no topic, no offset. */
export function punctuationContext(partition: number, timestamp: number): RecordContext {
  return { topic: null, partition, offset: -1, timestamp, headers: NO_HEADERS }
}
