// The innermost store: a Map from the key's primitive id to the value object. Nothing is serialized here;
// structured keys keep their original object beside the id so that all() can return it.

import type { KeyId, KeyIdOf } from './key-id.js'
import type { KeyValueLayer } from './key-value-layer.js'

export class InMemoryKeyValueStore<K, V> implements KeyValueLayer<K, V> {
  readonly persistent = false
  readonly #values = new Map<KeyId, V>()
  // Only for keys whose id is not the key itself (objects); primitive keys need no second map.
  #keys: Map<KeyId, K> | undefined

  constructor(
    readonly name: string,
    private readonly keyId: KeyIdOf<K>,
  ) {}

  get(key: K): V | undefined {
    return this.#values.get(this.keyId(key))
  }

  put(key: K, value: V | null): void {
    const id = this.keyId(key)
    if (value === null) {
      this.#values.delete(id)
      this.#keys?.delete(id)
      return
    }
    this.#values.set(id, value)
    if (id !== key) {
      this.#keys ??= new Map()
      this.#keys.set(id, key)
    }
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
    const keys = this.#keys
    for (const [id, value] of this.#values) yield [keys?.get(id) ?? (id as K), value]
  }

  approximateNumEntries(): number {
    return this.#values.size
  }

  flush(): void {}

  close(): void {
    this.#values.clear()
    this.#keys = undefined
  }
}
