// An aggregate with the timestamp of its latest contributing record (Kafka Streams' ValueAndTimestamp),
// what windowed aggregates keep in their stores so that what they forward carries that timestamp.
// Serde layout, Kafka's ValueAndTimestampSerializer: [timestamp: int64 BE][value bytes].
import type { Serde } from '../../serdes.js'

export interface ValueAndTimestamp<V> {
  readonly value: V
  readonly timestamp: number
}

const TWO_32 = 4294967296

export function valueAndTimestampSerde<V>(inner: Serde<V>): Serde<ValueAndTimestamp<V>> {
  return {
    serialize(topic, { value, timestamp }) {
      const bytes = inner.serialize(topic, value) ?? Buffer.alloc(0)
      const out = Buffer.allocUnsafe(8 + bytes.length)
      const high = Math.floor(timestamp / TWO_32)
      out.writeInt32BE(high, 0)
      out.writeUInt32BE(timestamp - high * TWO_32, 4)
      bytes.copy(out, 8)
      return out
    },
    deserialize(topic, bytes) {
      return {
        timestamp: bytes.readInt32BE(0) * TWO_32 + bytes.readUInt32BE(4),
        value: inner.deserialize(topic, bytes.subarray(8)),
      }
    },
  }
}
