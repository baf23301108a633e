// The innermost key-value store: a Map from the key's id to a slot whose value a SlotValues keeps
// (value-slots.ts): serialized in one byte arena for every store with a value serde, as objects
// otherwise. A table of entity snapshots then holds a few hundred bytes of Avro per entity where the
// objects took kilobytes that the GC marked at every major collection. Structured keys keep their
// original object beside the id so that all() can return it.
import type { KeyId, KeyIdOf } from './key-id.js'
import { deleteThroughPut, type KeyValueLayer, putIfAbsentThroughPut } from './key-value-layer.js'
import { ARRAY_SLOT_BYTES, mapBytes, structuredKeyBytes } from './store-bytes.js'
import type { SlotValues } from './value-slots.js'

export class InMemoryKeyValueStore<K, V, S = unknown> implements KeyValueLayer<K, V> {
  readonly persistent = false
  readonly #slots = new Map<KeyId, number>()
  /** The key of each slot in use (all() returns it; for structured keys the id is not the key). */
  #keys: Array<K | undefined> = []

  constructor(
    readonly name: string,
    private readonly keyId: KeyIdOf<K>,
    /** Keeps the values and allocates the slots. */
    private readonly values: SlotValues<V, S>,
  ) {}

  /** The serialized value of the last put: the change-logging layer sends it instead of serializing again. */
  get lastPutBytes(): Buffer | null | undefined {
    return this.values.lastPutBytes
  }

  get(key: K): V | undefined {
    const slot = this.#slots.get(this.keyId(key))
    return slot === undefined ? undefined : this.values.read(slot)
  }

  put(key: K, value: V | null): void {
    this.restore(key, value === null ? null : this.values.prepare(value))
  }

  /** A write of a value as stored (a serialized store: the changelog's bytes). */
  restore(key: K, stored: S | null): void {
    const id = this.keyId(key)
    const slot = this.#slots.get(id)
    if (stored === null) {
      if (slot === undefined) return
      this.#slots.delete(id)
      this.#keys[slot] = undefined
      this.values.release(slot)
    } else if (slot === undefined) {
      const added = this.values.allocate(stored)
      this.#slots.set(id, added)
      this.#keys[added] = key
    } else this.values.set(slot, stored)
  }

  putIfAbsent(key: K, value: V): V | undefined {
    return putIfAbsentThroughPut(this, key, value)
  }

  delete(key: K): V | undefined {
    return deleteThroughPut(this, key)
  }

  *all(): IterableIterator<[K, V]> {
    for (const slot of this.#slots.values()) yield [this.#keys[slot] as K, this.values.read(slot)]
  }

  approximateNumEntries(): number {
    return this.#slots.size
  }

  approximateBytes(): number {
    return (
      mapBytes(this.#slots) +
      ARRAY_SLOT_BYTES * this.#keys.length +
      structuredKeyBytes(() => this.#liveKeys(), this.#slots.size) +
      this.values.approximateBytes()
    )
  }

  /** The key of each slot in use (all() returns them). */
  *#liveKeys(): Generator<K> {
    for (const slot of this.#slots.values()) yield this.#keys[slot] as K
  }

  flush(): void {}

  close(): void {
    this.#slots.clear()
    this.#keys = []
    this.values.clear()
  }
}
