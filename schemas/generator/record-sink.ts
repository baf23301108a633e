// Where generated records go: a Kafka topic set or a fixture file, written in batches.
import type { FixtureRecord } from './fixture-binary-format.js'

export interface OutgoingRecord extends FixtureRecord {
  /** The event as encoded in `value` (for formats that also show it). */
  event: unknown
}

export interface RecordSink {
  write(batch: readonly OutgoingRecord[]): Promise<void>
  close(): Promise<void>
}
