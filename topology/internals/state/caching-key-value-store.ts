// The record cache of a store (Kafka Streams' caching layer): keeps the latest write per key between
// commits, so a key updated 100 times in an interval costs one changelog record and one downstream
// update. It holds dirty entries only (the store below is a Map already, a read cache would gain nothing),
// bounded in estimated bytes by a budget the task's caches share (cache-budget.ts): past it, the cache
// holding the entry dirtied earliest flushes it early. Flushing
// writes through (change-logging logs it) and tells the listener with the value it replaces, under the
// record context of the entry's last update.
import type { RecordContext } from '../../processor.js'
import { type BudgetedCache, CacheBudget } from './cache-budget.js'
import type { KeyId, KeyIdOf } from './key-id.js'
import {
  deleteThroughPut,
  type FlushListener,
  type KeyValueLayer,
  putIfAbsentThroughPut,
} from './key-value-layer.js'
import { estimateEntry, reEstimate } from './size-estimate.js'
import type { StoreEnvironment } from './store-environment.js'

/** Bytes an entry counts beyond its key id and value. */
const ENTRY_OVERHEAD = 48

class DirtyEntry<K, V> {
  constructor(
    public key: K,
    public value: V | null,
    public context: RecordContext | undefined,
    public size: number,
    /** When it became dirty, task-wide (CacheBudget.nextSequence). */
    readonly sequence: number,
  ) {}
  /** Overwrites since it became dirty (reEstimate). */
  writes = 0
}

export class CachingKeyValueStore<K, V> implements KeyValueLayer<K, V>, BudgetedCache {
  // Insertion order is the order entries became dirty: eviction takes the oldest first. Updating an entry
  // in place does not reorder it, which saves a delete+set per write at the cost of exact LRU.
  #dirty = new Map<KeyId, DirtyEntry<K, V>>()
  #bytes = 0
  #listener: FlushListener<K, V> | undefined
  readonly #budget: CacheBudget

  /** Shares env.cacheBudget when the task gives one, else has its own budget of `maxBytes`. */
  constructor(
    private readonly inner: KeyValueLayer<K, V>,
    private readonly keyId: KeyIdOf<K>,
    private readonly env: StoreEnvironment,
    maxBytes: number,
  ) {
    this.#budget = env.cacheBudget ?? new CacheBudget(maxBytes)
    this.#budget.register(this)
  }

  /** Whether the store at the bottom keeps its entries on disk. */
  get persistent(): boolean {
    return this.inner.persistent
  }

  get name(): string {
    return this.inner.name
  }

  setFlushListener(listener: FlushListener<K, V>): void {
    this.#listener = listener
  }

  get dirtyCount(): number {
    return this.#dirty.size
  }

  get(key: K): V | undefined {
    const entry = this.#dirty.get(this.keyId(key))
    if (entry !== undefined) return entry.value ?? undefined
    return this.inner.get(key)
  }

  put(key: K, value: V | null): void {
    const id = this.keyId(key)
    const context = this.env.recordContext.current
    const entry = this.#dirty.get(id)
    const budget = this.#budget
    if (entry === undefined) {
      const size = estimateEntry(id, value, ENTRY_OVERHEAD)
      this.#dirty.set(id, new DirtyEntry(key, value, context, size, budget.nextSequence()))
      this.#bytes += size
      budget.bytes += size
    } else {
      const size = reEstimate(++entry.writes, entry.value, value)
        ? estimateEntry(id, value, ENTRY_OVERHEAD)
        : entry.size
      this.#bytes += size - entry.size
      budget.bytes += size - entry.size
      entry.value = value
      entry.context = context
      entry.size = size
    }
    if (budget.bytes > budget.maxBytes) budget.evict()
  }

  putIfAbsent(key: K, value: V): V | undefined {
    return putIfAbsentThroughPut(this, key, value)
  }

  delete(key: K): V | undefined {
    return deleteThroughPut(this, key)
  }

  *all(): IterableIterator<[K, V]> {
    for (const [key, value] of this.inner.all()) {
      const entry = this.#dirty.get(this.keyId(key))
      if (entry === undefined) yield [key, value]
    }
    for (const entry of this.#dirty.values()) if (entry.value !== null) yield [entry.key, entry.value]
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries() + this.#dirty.size
  }

  /** The entries below, and those held here (as the cache's byte budget counts them). */
  approximateBytes(): number {
    return this.inner.approximateBytes() + this.#bytes
  }

  flush(): void {
    if (this.#dirty.size > 0) {
      const holder = this.env.recordContext
      const saved = holder.current
      // Swapped out, not deleted entry by entry: cheaper, and a write made by a listener during the flush
      // lands in the fresh map (the task flushes again until every cache is clean).
      const dirty = this.#dirty
      this.#dirty = new Map()
      this.#budget.bytes -= this.#bytes
      this.#bytes = 0
      try {
        for (const entry of dirty.values()) this.#writeThrough(entry)
      } finally {
        holder.current = saved
      }
    }
    this.inner.flush()
  }

  close(): void {
    this.#dirty.clear()
    this.#budget.bytes -= this.#bytes
    this.#bytes = 0
    this.inner.close()
  }

  oldestSequence(): number {
    for (const entry of this.#dirty.values()) return entry.sequence
    return Number.POSITIVE_INFINITY
  }

  evictOldest(): void {
    for (const [id, entry] of this.#dirty) {
      this.#dirty.delete(id)
      this.#bytes -= entry.size
      this.#budget.bytes -= entry.size
      const holder = this.env.recordContext
      const saved = holder.current
      try {
        this.#writeThrough(entry)
      } finally {
        holder.current = saved
      }
      return
    }
  }

  // Runs with the record context of the entry's last update, so the changelog record and the forwarded
  // record carry that record's timestamp.
  #writeThrough(entry: DirtyEntry<K, V>): void {
    const old = this.inner.get(entry.key) ?? null
    if (old === null && entry.value === null) return
    this.env.recordContext.current = entry.context
    if (entry.value === null) this.inner.delete(entry.key)
    else this.inner.put(entry.key, entry.value)
    this.#listener?.(entry.key, entry.value, old, entry.context?.timestamp ?? 0)
  }
}
