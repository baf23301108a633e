// The outermost layer: what processors and the test driver hold. It times operations when metrics are on
// (no clock reads when off) and is the one place a processor registers its flush listener: it answers
// whether a cache will call it, so that the processor forwards itself only when there is none.
import type { EngineMetrics, StoreOperation } from '../../metrics.js'
import type { CachingKeyValueStore } from './caching-key-value-store.js'
import type { FlushListener, KeyValueLayer } from './key-value-layer.js'

export class MeteredKeyValueStore<K, V> implements KeyValueLayer<K, V> {
  constructor(
    private readonly inner: KeyValueLayer<K, V>,
    private readonly metrics: EngineMetrics,
    private readonly cache: CachingKeyValueStore<K, V> | undefined,
  ) {}

  /** Whether the store at the bottom keeps its entries on disk. */
  get persistent(): boolean {
    return this.inner.persistent
  }

  get name(): string {
    return this.inner.name
  }

  /** Returns true when a cache will call the listener on flush (and the caller must not forward itself). */
  setFlushListener(listener: FlushListener<K, V>): boolean {
    if (this.cache === undefined) return false
    this.cache.setFlushListener(listener)
    return true
  }

  get(key: K): V | undefined {
    if (!this.metrics.enabled) return this.inner.get(key)
    const start = performance.now()
    const value = this.inner.get(key)
    this.#record('get', start)
    return value
  }

  put(key: K, value: V | null): void {
    if (!this.metrics.enabled) {
      this.inner.put(key, value)
      return
    }
    const start = performance.now()
    this.inner.put(key, value)
    this.#record('put', start)
  }

  putIfAbsent(key: K, value: V): V | undefined {
    const old = this.get(key)
    if (old === undefined) this.put(key, value)
    return old
  }

  delete(key: K): V | undefined {
    if (!this.metrics.enabled) return this.inner.delete(key)
    const start = performance.now()
    const old = this.inner.delete(key)
    this.#record('delete', start)
    return old
  }

  all(): IterableIterator<[K, V]> {
    return this.inner.all()
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries()
  }

  approximateBytes(): number {
    return this.inner.approximateBytes()
  }

  flush(): void {
    if (!this.metrics.enabled) {
      this.inner.flush()
      return
    }
    const start = performance.now()
    this.inner.flush()
    this.#record('flush', start)
  }

  close(): void {
    this.inner.close()
  }

  #record(operation: StoreOperation, start: number): void {
    this.metrics.storeOperation(this.name, operation, performance.now() - start)
  }
}
