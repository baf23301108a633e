// The contract between the decorators of a key-value store (metered, caching, change-logging, in memory
// or LMDB), and the writes some of them make through their put.
import type { KeyValueStore } from '../../state-store.js'

export interface KeyValueLayer<K, V> extends KeyValueStore<K, V> {
  /** Pushes buffered writes to the layer below (the cache's dirty entries); a no-op for other layers. */
  flush(): void
  close(): void
  /** An estimate of the memory the layer and those below it hold (store-bytes.ts). */
  approximateBytes(): number
  /**
   * The serialized value of the last put, when the layer keeps values serialized: the change-logging
   * layer sends these bytes instead of serializing the value a second time.
   */
  readonly lastPutBytes?: Buffer | null
}

/** Told about each entry a cache writes through: what downstream processors receive. */
export type FlushListener<K, V> = (key: K, newValue: V | null, oldValue: V | null, timestamp: number) => void

type GetAndPut<K, V> = Pick<KeyValueStore<K, V>, 'get' | 'put'>

/** putIfAbsent through get and put, for a layer whose every write goes through its put. */
export function putIfAbsentThroughPut<K, V>(store: GetAndPut<K, V>, key: K, value: V): V | undefined {
  const old = store.get(key)
  if (old === undefined) store.put(key, value)
  return old
}

/** delete through get and put (a null value), for a layer whose every write goes through its put. */
export function deleteThroughPut<K, V>(store: GetAndPut<K, V>, key: K): V | undefined {
  const old = store.get(key)
  store.put(key, null)
  return old
}
