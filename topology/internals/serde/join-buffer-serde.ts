// Serdes of the stream-stream join buffers. A side's window store keeps, per (key, timestamp), the list
// of values (Kafka retains duplicates): u32 BE count, then per value u32 BE length and its bytes. The
// outer-join store keeps, per (key, timestamp), the unmatched records of both sides: u32 BE count, then
// per record u8 side (1 left, 0 right), u32 BE length and the bytes of that side's value.
import type { Serde } from '../../serdes.js'

const EMPTY = Buffer.alloc(0)

export function listSerde<V>(inner: Serde<V>): Serde<V[]> {
  return {
    serialize(topic, values) {
      const parts = values.map((v) => inner.serialize(topic, v) ?? EMPTY)
      const out = Buffer.allocUnsafe(4 + parts.reduce((n, p) => n + 4 + p.length, 0))
      out.writeUInt32BE(parts.length, 0)
      let at = 4
      for (const p of parts) {
        out.writeUInt32BE(p.length, at)
        p.copy(out, at + 4)
        at += 4 + p.length
      }
      return out
    },
    deserialize(topic, bytes) {
      const count = bytes.readUInt32BE(0)
      const values: V[] = []
      let at = 4
      for (let i = 0; i < count; i++) {
        const length = bytes.readUInt32BE(at)
        values.push(inner.deserialize(topic, bytes.subarray(at + 4, at + 4 + length)))
        at += 4 + length
      }
      return values
    },
  }
}

/** An unmatched record of a left/outer join, waiting for its window to close. */
export interface UnmatchedRecord<VL, VR> {
  readonly left: boolean
  readonly value: VL | VR
}

export function unmatchedSerde<VL, VR>(left: Serde<VL>, right: Serde<VR>): Serde<UnmatchedRecord<VL, VR>[]> {
  return {
    serialize(topic, records) {
      const parts = records.map(
        (r) =>
          (r.left ? left.serialize(topic, r.value as VL) : right.serialize(topic, r.value as VR)) ?? EMPTY,
      )
      const out = Buffer.allocUnsafe(4 + parts.reduce((n, p) => n + 5 + p.length, 0))
      out.writeUInt32BE(parts.length, 0)
      let at = 4
      records.forEach((r, i) => {
        const p = parts[i] as Buffer
        out.writeUInt8(r.left ? 1 : 0, at)
        out.writeUInt32BE(p.length, at + 1)
        p.copy(out, at + 5)
        at += 5 + p.length
      })
      return out
    },
    deserialize(topic, bytes) {
      const count = bytes.readUInt32BE(0)
      const records: UnmatchedRecord<VL, VR>[] = []
      let at = 4
      for (let i = 0; i < count; i++) {
        const isLeft = bytes.readUInt8(at) === 1
        const length = bytes.readUInt32BE(at + 1)
        const slice = bytes.subarray(at + 5, at + 5 + length)
        records.push({
          left: isLeft,
          value: isLeft ? left.deserialize(topic, slice) : right.deserialize(topic, slice),
        })
        at += 5 + length
      }
      return records
    },
  }
}
