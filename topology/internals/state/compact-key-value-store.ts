// The innermost key-value store for stores with a value serde (every logged store): a Map from the key's
// id to a slot whose value is kept serialized (value-slots.ts), instead of the value object. A table of
// entity snapshots keeps a few hundred bytes of Avro per entity where the objects took kilobytes, and the
// garbage collector no longer marks them. Values are deserialized on every read, as Kafka Streams' byte
// stores do; a value whose serializer returns null is a delete, as its changelog tombstone restores it.
import type { Serde } from '../../serdes.js'
import type { KeyId, KeyIdOf } from './key-id.js'
import type { KeyValueLayer } from './key-value-layer.js'
import { ValueSlots } from './value-slots.js'

export class CompactKeyValueStore<K, V> implements KeyValueLayer<K, V> {
  readonly persistent = false
  readonly #slots = new Map<KeyId, number>()
  /** The key of each slot in use (all() returns it; for structured keys the id is not the key). */
  #keys: Array<K | undefined> = []
  readonly #values = new ValueSlots()
  /** The serialized value of the last put: the change-logging layer sends it instead of serializing again. */
  lastPutBytes: Buffer | null = null

  constructor(
    readonly name: string,
    private readonly keyId: KeyIdOf<K>,
    private readonly topic: string,
    private readonly valueSerde: Serde<V>,
  ) {}

  get(key: K): V | undefined {
    const slot = this.#slots.get(this.keyId(key))
    return slot === undefined ? undefined : this.valueSerde.deserialize(this.topic, this.#values.view(slot))
  }

  put(key: K, value: V | null): void {
    const bytes = value === null ? null : this.valueSerde.serialize(this.topic, value)
    this.lastPutBytes = bytes
    this.restore(key, bytes)
  }

  /** A write as the changelog holds it. */
  restore(key: K, bytes: Buffer | null): void {
    const id = this.keyId(key)
    const slot = this.#slots.get(id)
    if (bytes === null) {
      if (slot === undefined) return
      this.#slots.delete(id)
      this.#keys[slot] = undefined
      this.#values.release(slot)
    } else if (slot === undefined) {
      const added = this.#values.allocate(bytes)
      this.#slots.set(id, added)
      this.#keys[added] = key
    } else this.#values.set(slot, bytes)
  }

  putIfAbsent(key: K, value: V): V | undefined {
    const old = this.get(key)
    if (old === undefined) this.put(key, value)
    return old
  }

  delete(key: K): V | undefined {
    const old = this.get(key)
    this.put(key, null)
    return old
  }

  *all(): IterableIterator<[K, V]> {
    for (const slot of this.#slots.values())
      yield [this.#keys[slot] as K, this.valueSerde.deserialize(this.topic, this.#values.view(slot))]
  }

  approximateNumEntries(): number {
    return this.#slots.size
  }

  flush(): void {}

  close(): void {
    this.#slots.clear()
    this.#keys = []
    this.#values.clear()
  }
}
