// Dead-letter records: a record the pipeline cannot process (bad bytes, a writer schema it cannot
// resolve, ...) is never dropped: it is copied byte for byte (key, value, headers, timestamp) to a
// dead-letter topic, with the reason and where it came from in headers. The caller sends the
// record through its own producer or transaction, so under exactly-once the dead letter commits
// atomically with the offsets that skip the original.
import type { MessageToProduce } from '@platformatic/kafka'
import type { TopicSpec } from './topics.js'

/** Header names, prefixed so they never collide with the original record's own headers. */
export const DEAD_LETTER_HEADERS = Object.freeze({
  code: 'dead-letter.code',
  reason: 'dead-letter.reason',
  topic: 'dead-letter.source.topic',
  partition: 'dead-letter.source.partition',
  offset: 'dead-letter.source.offset',
  failedAt: 'dead-letter.failed-at',
  /** Prefix of any further detail the reason carries (schema id, fingerprint, ...). */
  detail: 'dead-letter.detail.',
})

/**
 * How a dead-letter topic (and the runtime's late-record topic) is created when missing: one
 * partition, no time retention. Their records keep the original record's timestamp, and Kafka's time
 * retention counts from a record's timestamp: under the broker's default (7 days) the dead letter of
 * a replayed 6-day-old event would be deleted within a day of being written. So nothing is deleted by
 * time; bound such a topic by size (retention.bytes) or delete what has been handled
 * (kafka-delete-records).
 */
export function letterTopicSpec(name: string): TopicSpec {
  return { name, partitions: 1, configs: { 'retention.ms': '-1' } }
}

export interface DeadLetterSource {
  topic: string
  partition: number
  offset: bigint
  key?: Buffer | null
  value?: Buffer | null
  timestamp?: bigint
  headers?: Map<Buffer, Buffer> | Iterable<[Buffer | string, Buffer | string]>
}

export interface DeadLetterCause {
  /** A stable, machine-readable code, e.g. INCOMPATIBLE_WRITER_SCHEMA. */
  code: string
  /** What went wrong, for a person. */
  reason: string
  /** Further details, each becoming a `dead-letter.detail.<name>` header. */
  details?: Record<string, string | number | bigint | undefined>
}

export function deadLetterRecord(
  deadLetterTopic: string,
  source: DeadLetterSource,
  cause: DeadLetterCause,
  failedAt: Date = new Date(),
): MessageToProduce<Buffer, Buffer, Buffer, Buffer> {
  const headers = new Map<Buffer, Buffer>()
  for (const [k, v] of source.headers ?? []) headers.set(toBuffer(k), toBuffer(v))
  const add = (name: string, value: string) => headers.set(Buffer.from(name), Buffer.from(value))
  add(DEAD_LETTER_HEADERS.code, cause.code)
  add(DEAD_LETTER_HEADERS.reason, cause.reason)
  add(DEAD_LETTER_HEADERS.topic, source.topic)
  add(DEAD_LETTER_HEADERS.partition, String(source.partition))
  add(DEAD_LETTER_HEADERS.offset, String(source.offset))
  add(DEAD_LETTER_HEADERS.failedAt, failedAt.toISOString())
  for (const [name, value] of Object.entries(cause.details ?? {})) {
    if (value !== undefined) add(`${DEAD_LETTER_HEADERS.detail}${name}`, String(value))
  }
  return {
    topic: deadLetterTopic,
    // Same key, so a dead-letter topic partitioned like the source keeps per-key order.
    ...(source.key ? { key: source.key } : {}),
    ...(source.value ? { value: source.value } : {}),
    ...(source.timestamp !== undefined ? { timestamp: source.timestamp } : {}),
    headers,
  }
}

/** Reads the dead-letter headers of a record back (for tools and tests). */
export function readDeadLetterHeaders(headers: Map<Buffer, Buffer>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of headers) {
    const name = k.toString()
    if (name.startsWith('dead-letter.')) out[name] = v.toString()
  }
  return out
}

function toBuffer(value: Buffer | string): Buffer {
  return typeof value === 'string' ? Buffer.from(value) : value
}
