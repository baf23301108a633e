// What every serde of an event family offers, whichever the encoding: synchronous encode and decode on
// the record path (no Promise per record), and an asynchronous step a consumer runs once per fetched
// batch so that every writer schema id of the batch is known before the synchronous decode.
import type { RecordLocation } from '../errors.js'
import type { SchemaName } from '../schema-catalog.js'

export type SchemaEncoding = 'registry' | 'single-object'

export const SCHEMA_ENCODINGS: readonly SchemaEncoding[] = ['registry', 'single-object']

export interface EventSerde<T> {
  /** The event family, or the processors' output (`outputs/<name>`), whose schema this serde uses. */
  readonly family: SchemaName
  readonly topic: string
  readonly encoding: SchemaEncoding
  /** The header bytes every value this serde writes starts with (the writer's schema id or fingerprint). */
  readonly writerHeader: Buffer
  /** Encodes with the current schema; throws SchemaError INVALID_EVENT when the event does not fit it. */
  serialize(event: T): Buffer
  /**
   * Decodes a value written with any known version into the current schema's shape; throws
   * DecodeError (see errors.ts). On the registry encoding an id never seen before throws
   * UNKNOWN_SCHEMA_ID: call `prepare` on the batch first, or use `deserializeAsync`.
   */
  deserialize(bytes: Buffer, location?: RecordLocation): T
  /**
   * Makes every writer schema of these values known (fetches unknown registry ids; nothing to do for
   * single-object). Ids the registry does not have are remembered, and then fail in `deserialize`
   * with UNKNOWN_SCHEMA_ID; an unreachable registry rejects with the retryable REGISTRY_UNAVAILABLE.
   */
  prepare(values: Iterable<Buffer | null | undefined>): Promise<void>
  /** `prepare` for one value, then `deserialize`. */
  deserializeAsync(bytes: Buffer, location?: RecordLocation): Promise<T>
}
