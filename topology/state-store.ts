// The store interfaces processors see. Values are kept as objects; only the changelog sees bytes.

export interface StateStore {
  readonly name: string
  /** False for every store of part 1: state lives in memory and is rebuilt from the changelog. */
  readonly persistent: boolean
}

export interface ReadOnlyKeyValueStore<K, V> {
  get(key: K): V | undefined
  /** Every entry, the cache's latest values over the inner store's. */
  all(): IterableIterator<[K, V]>
  approximateNumEntries(): number
}

export interface KeyValueStore<K, V> extends StateStore, ReadOnlyKeyValueStore<K, V> {
  /** Puts a value; `null` deletes the key (a tombstone in the changelog). */
  put(key: K, value: V | null): void
  putIfAbsent(key: K, value: V): V | undefined
  delete(key: K): V | undefined
}
