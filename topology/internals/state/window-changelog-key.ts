// The changelog key layouts of window and session stores, Kafka Streams' binary store keys, so that a
// JVM consumer (or restore) reads them the same way:
//   window store  (WindowKeySchema.toStoreKeyBinary):  [serialized key][window start: int64 BE][seqnum: int32 BE = 0]
//   session store (SessionKeySchema.toBinary):         [serialized key][session end: int64 BE][session start: int64 BE]
// The store keeps no duplicates, so the window seqnum is always 0. The keys of windowed output topics
// (WindowedSerdes, Kafka's TimeWindowedSerializer / SessionWindowedSerializer) use the same layouts, the
// time-windowed one without the seqnum: [serialized key][window start: int64 BE].
import type { Serde } from '../../serdes.js'

export interface ChangelogKey<K> {
  readonly key: K
  readonly start: number
  readonly end: number
}

export interface ChangelogKeyCodec<K> {
  encode(topic: string, key: K, start: number, end: number): Buffer
  decode(topic: string, bytes: Buffer): ChangelogKey<K>
}

const TWO_32 = 4294967296

function writeLong(out: Buffer, value: number, at: number): void {
  const high = Math.floor(value / TWO_32)
  out.writeInt32BE(high, at)
  out.writeUInt32BE(value - high * TWO_32, at + 4)
}

function readLong(bytes: Buffer, at: number): number {
  return bytes.readInt32BE(at) * TWO_32 + bytes.readUInt32BE(at + 4)
}

function keyBytes<K>(serde: Serde<K>, topic: string, key: K): Buffer {
  return serde.serialize(topic, key) ?? Buffer.alloc(0)
}

export function windowChangelogKeyCodec<K>(serde: Serde<K>, windowSizeMs: number): ChangelogKeyCodec<K> {
  return {
    encode(topic, key, start) {
      const k = keyBytes(serde, topic, key)
      const out = Buffer.allocUnsafe(k.length + 12)
      k.copy(out, 0)
      writeLong(out, start, k.length)
      out.writeInt32BE(0, k.length + 8)
      return out
    },
    decode(topic, bytes) {
      const n = bytes.length - 12
      const start = readLong(bytes, n)
      return { key: serde.deserialize(topic, bytes.subarray(0, n)), start, end: start + windowSizeMs }
    },
  }
}

export function sessionChangelogKeyCodec<K>(serde: Serde<K>): ChangelogKeyCodec<K> {
  return {
    encode(topic, key, start, end) {
      const k = keyBytes(serde, topic, key)
      const out = Buffer.allocUnsafe(k.length + 16)
      k.copy(out, 0)
      writeLong(out, end, k.length)
      writeLong(out, start, k.length + 8)
      return out
    },
    decode(topic, bytes) {
      const n = bytes.length - 16
      return {
        key: serde.deserialize(topic, bytes.subarray(0, n)),
        end: readLong(bytes, n),
        start: readLong(bytes, n + 8),
      }
    },
  }
}

/** Kafka's TimeWindowedSerializer layout (WindowKeySchema.toBinary): the window key without its seqnum. */
export function timeWindowedKeyCodec<K>(serde: Serde<K>, windowSizeMs: number): ChangelogKeyCodec<K> {
  return {
    encode(topic, key, start) {
      const k = keyBytes(serde, topic, key)
      const out = Buffer.allocUnsafe(k.length + 8)
      k.copy(out, 0)
      writeLong(out, start, k.length)
      return out
    },
    decode(topic, bytes) {
      const n = bytes.length - 8
      const start = readLong(bytes, n)
      return { key: serde.deserialize(topic, bytes.subarray(0, n)), start, end: start + windowSizeMs }
    },
  }
}
