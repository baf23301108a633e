// The store interfaces processors see. Values are kept as objects; only the changelog sees bytes.

/** Where key-value stores keep their entries: the process's memory, or LMDB files (the stateStore setting). */
export const STATE_STORE_TYPES = ['memory', 'lmdb'] as const
export type StateStoreType = (typeof STATE_STORE_TYPES)[number]

export function isStateStoreType(value: unknown): value is StateStoreType {
  return (STATE_STORE_TYPES as readonly unknown[]).includes(value)
}

export interface StateStore {
  readonly name: string
  /**
   * True for a key-value store kept in LMDB files (stateStore 'lmdb'), false in memory. Either way its
   * state is rebuilt from the changelog when its task starts.
   */
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
