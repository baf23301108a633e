// The serde of a table change on a repartition topic (KTable.groupBy), wrapping the value serde.
// Layout: u8 flags (bit 0: new present, bit 1: old present), u32 BE length of the new value's bytes,
// the new value's bytes, then the old value's bytes to the end.
import { Change } from '../../change.js'
import type { Serde } from '../../serdes.js'

export function changeSerde<V>(inner: Serde<V>): Serde<Change<V>> {
  return {
    serialize(topic, change) {
      const newBytes = change.newValue === null ? null : inner.serialize(topic, change.newValue)
      const oldBytes = change.oldValue === null ? null : inner.serialize(topic, change.oldValue)
      const newLength = newBytes?.length ?? 0
      const out = Buffer.allocUnsafe(5 + newLength + (oldBytes?.length ?? 0))
      out.writeUInt8((newBytes === null ? 0 : 1) | (oldBytes === null ? 0 : 2), 0)
      out.writeUInt32BE(newLength, 1)
      newBytes?.copy(out, 5)
      oldBytes?.copy(out, 5 + newLength)
      return out
    },
    deserialize(topic, bytes) {
      const flags = bytes.readUInt8(0)
      const newLength = bytes.readUInt32BE(1)
      const newValue = flags & 1 ? inner.deserialize(topic, bytes.subarray(5, 5 + newLength)) : null
      const oldValue = flags & 2 ? inner.deserialize(topic, bytes.subarray(5 + newLength)) : null
      return new Change(newValue, oldValue)
    },
  }
}
