// The JSONL fixture format: one record per line, readable and diffable, still carrying the exact value
// bytes so a replay is byte-identical to a binary fixture.
//
//   {"topic": string, "key": string (UTF-8 entity id), "timestamp": number (epoch ms, = event time),
//    "value": string (base64 of the encoded value), "event": object (the event as avsc reads it:
//    unions of records keyed by their full Avro name, ["null", X] as null or the value)}
import { SchemaError } from '../errors.js'
import type { FixtureRecord } from './fixture-binary-format.js'

export function encodeJsonlRecord(record: FixtureRecord, event: unknown): string {
  return `${JSON.stringify({
    topic: record.topic,
    key: record.key.toString('utf8'),
    timestamp: record.timestamp,
    value: record.value.toString('base64'),
    event,
  })}\n`
}

export function decodeJsonlFile(text: string): (FixtureRecord & { event: unknown })[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      let parsed: { topic?: unknown; key?: unknown; timestamp?: unknown; value?: unknown; event?: unknown }
      try {
        parsed = JSON.parse(line)
      } catch (cause) {
        throw new SchemaError('INVALID_OPTIONS', `fixture line ${i + 1} is not JSON`, { cause })
      }
      const { topic, key, timestamp, value, event } = parsed
      if (
        typeof topic !== 'string' ||
        typeof key !== 'string' ||
        typeof timestamp !== 'number' ||
        typeof value !== 'string'
      ) {
        throw new SchemaError('INVALID_OPTIONS', `fixture line ${i + 1} lacks topic, key, timestamp or value`)
      }
      return { topic, key: Buffer.from(key, 'utf8'), value: Buffer.from(value, 'base64'), timestamp, event }
    })
}
