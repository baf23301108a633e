// The late-record topic: a record a windowed aggregate found too late (it changed no window) is copied
// there byte for byte (key, value, headers, timestamp), with why and where it came from in headers, in
// the transaction that commits the offset past it. Never dropped silently.
import type { MessageToProduce } from '@platformatic/kafka'
import type { LateLetter } from '../internals/runtime/record-collector.js'

export const LATE_RECORD_HEADERS = Object.freeze({
  rule: 'late.rule',
  processor: 'late.processor',
  store: 'late.store',
  streamTime: 'late.stream-time',
  closeTime: 'late.close-time',
  windowStart: 'late.window.start',
  windowEnd: 'late.window.end',
  topic: 'late.source.topic',
  partition: 'late.source.partition',
  offset: 'late.source.offset',
})

export function lateRecordMessage(
  topic: string,
  { record, late }: LateLetter,
): MessageToProduce<Buffer, Buffer, Buffer, Buffer> {
  const headers = new Map<Buffer, Buffer>()
  for (const [k, v] of record.headers) headers.set(Buffer.from(k), v)
  const add = (name: string, value: string | number) =>
    headers.set(Buffer.from(name), Buffer.from(String(value)))
  add(LATE_RECORD_HEADERS.rule, late.rule)
  add(LATE_RECORD_HEADERS.processor, late.processor)
  add(LATE_RECORD_HEADERS.store, late.store)
  add(LATE_RECORD_HEADERS.streamTime, late.streamTime)
  add(LATE_RECORD_HEADERS.closeTime, late.closeTime)
  if (late.window !== undefined) {
    add(LATE_RECORD_HEADERS.windowStart, late.window.start)
    add(LATE_RECORD_HEADERS.windowEnd, late.window.end)
  }
  add(LATE_RECORD_HEADERS.topic, record.topic)
  add(LATE_RECORD_HEADERS.partition, record.partition)
  add(LATE_RECORD_HEADERS.offset, record.offset)
  return {
    topic,
    ...(record.key === null ? {} : { key: record.key }),
    ...(record.value === null ? {} : { value: record.value }),
    ...(record.timestamp >= 0 ? { timestamp: BigInt(record.timestamp) } : {}),
    headers,
  }
}
