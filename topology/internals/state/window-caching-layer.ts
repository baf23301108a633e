// The record cache of a window or session store, as caching-key-value-store.ts is for key-value stores:
// the latest write per (key, start, end) between commits, bounded in estimated bytes. Dirty entries are
// grouped by key (a key's windows are few), so point reads and per-key ranges look at one short array;
// reads over all keys by end (emit-final) also scan the dirty entries. Past the budget, the keys dirtied
// earliest are written through first. Writing through tells the flush listener the value replaced, under
// the record context of the entry's last update.
// The cache applies the store's retention as the store would had each write reached it: a write moves
// the largest end observed, and reads hide (writes drop) entries with end <= observed end - retention.
// Without this, caching on or off gave different results: an entry the store had already expired could
// still be merged into a session from the cache until the next flush.
import type { RecordContext } from '../../processor.js'
import type { KeyId, KeyIdOf } from './key-id.js'
import { estimateEntry, reEstimate } from './size-estimate.js'
import type { StoreEnvironment } from './store-environment.js'
import {
  compareEntries,
  type KeyBytesOf,
  sortByTime,
  type TimedEntry,
  type WindowFlushListener,
  type WindowLayer,
} from './window-layer.js'

/** Bytes an entry counts beyond its key id and value. */
const ENTRY_OVERHEAD = 64

class DirtyEntry<K, V> {
  constructor(
    readonly key: K,
    readonly start: number,
    readonly end: number,
    public value: V | null,
    public context: RecordContext | undefined,
    public size: number,
  ) {}
  /** Overwrites since it became dirty (reEstimate). */
  writes = 0
}

export class WindowCachingLayer<K, V> implements WindowLayer<K, V> {
  #dirty = new Map<KeyId, DirtyEntry<K, V>[]>()
  #count = 0
  #bytes = 0
  #listener: WindowFlushListener<K, V> | undefined
  #observedEnd = Number.NEGATIVE_INFINITY

  constructor(
    private readonly inner: WindowLayer<K, V>,
    private readonly keyId: KeyIdOf<K>,
    private readonly env: StoreEnvironment,
    private readonly maxBytes: number,
    private readonly retention: { readonly ms: number; readonly innerObservedEnd: () => number },
    private readonly keyBytes?: KeyBytesOf<K>,
  ) {}

  /** Entries with end at or below this have expired. */
  #expiredUpTo(): number {
    return Math.max(this.#observedEnd, this.retention.innerObservedEnd()) - this.retention.ms
  }

  get name(): string {
    return this.inner.name
  }

  get dirtyCount(): number {
    return this.#count
  }

  setFlushListener(listener: WindowFlushListener<K, V>): void {
    this.#listener = listener
  }

  get(key: K, start: number, end: number): V | undefined {
    if (end <= this.#expiredUpTo()) return undefined
    const list = this.#dirty.get(this.keyId(key))
    if (list !== undefined)
      for (const e of list) if (e.start === start && e.end === end) return e.value ?? undefined
    return this.inner.get(key, start, end)
  }

  put(key: K, start: number, end: number, value: V | null): boolean {
    if (end > this.#observedEnd) this.#observedEnd = end
    if (end <= this.#expiredUpTo()) return false
    const id = this.keyId(key)
    const context = this.env.recordContext.current
    let list = this.#dirty.get(id)
    if (list === undefined) {
      list = []
      this.#dirty.set(id, list)
    }
    let found: DirtyEntry<K, V> | undefined
    for (const e of list) if (e.start === start && e.end === end) found = e
    if (found === undefined) {
      const size = estimateEntry(id, value, ENTRY_OVERHEAD)
      list.push(new DirtyEntry(key, start, end, value, context, size))
      this.#count++
      this.#bytes += size
    } else {
      const size = reEstimate(++found.writes, found.value, value)
        ? estimateEntry(id, value, ENTRY_OVERHEAD)
        : found.size
      this.#bytes += size - found.size
      found.value = value
      found.context = context
      found.size = size
    }
    if (this.#bytes > this.maxBytes) this.#evict()
    return true
  }

  fetchKey(key: K): TimedEntry<K, V>[] {
    const list = this.#dirty.get(this.keyId(key))
    const below = this.inner.fetchKey(key)
    return unexpired(list === undefined ? below : overlay(below, list), this.#expiredUpTo())
  }

  fetchByEnd(endFrom: number, endTo: number): TimedEntry<K, V>[] {
    // Nothing at or below the expiry bound is visible.
    endFrom = Math.max(endFrom, this.#expiredUpTo() + 1)
    if (endFrom > endTo) return []
    const below = this.inner.fetchByEnd(endFrom, endTo)
    if (this.#count === 0) return below
    const dirty: DirtyEntry<K, V>[] = []
    for (const list of this.#dirty.values())
      for (const e of list) if (e.end >= endFrom && e.end <= endTo) dirty.push(e)
    if (dirty.length === 0) return below
    // Overlay per key: an entry's identity is (key id, start, end).
    const byKey = new Map<KeyId, DirtyEntry<K, V>[]>()
    for (const e of dirty) {
      const id = this.keyId(e.key)
      const l = byKey.get(id)
      if (l === undefined) byKey.set(id, [e])
      else l.push(e)
    }
    const out: TimedEntry<K, V>[] = []
    for (const entry of below) {
      const l = byKey.get(this.keyId(entry.key))
      if (l === undefined || !l.some((e) => e.start === entry.start && e.end === entry.end)) out.push(entry)
    }
    for (const e of dirty)
      if (e.value !== null) out.push({ key: e.key, start: e.start, end: e.end, value: e.value })
    return sortByTime(out, this.keyBytes)
  }

  approximateNumEntries(): number {
    return this.inner.approximateNumEntries() + this.#count
  }

  /** The entries below, and those held here (as the cache's byte budget counts them). */
  approximateBytes(): number {
    return this.inner.approximateBytes() + this.#bytes
  }

  observe(end: number): void {
    if (end > this.#observedEnd) this.#observedEnd = end
  }

  flush(): void {
    if (this.#count > 0) {
      const holder = this.env.recordContext
      const saved = holder.current
      const dirty = this.#dirty
      this.#dirty = new Map()
      this.#count = 0
      this.#bytes = 0
      try {
        for (const list of dirty.values()) for (const entry of list) this.#writeThrough(entry)
      } finally {
        holder.current = saved
      }
    }
    // Writes that reached no entry (a delete of nothing) still moved the observed end: the store
    // expires (and tombstones) what the cache already hid.
    this.inner.observe(this.#observedEnd)
    this.inner.flush()
  }

  close(): void {
    this.#dirty.clear()
    this.#count = 0
    this.#bytes = 0
    this.inner.close()
  }

  #evict(): void {
    const holder = this.env.recordContext
    const saved = holder.current
    try {
      for (const [id, list] of this.#dirty) {
        if (this.#bytes <= this.maxBytes) break
        this.#dirty.delete(id)
        for (const entry of list) {
          this.#count--
          this.#bytes -= entry.size
          this.#writeThrough(entry)
        }
      }
    } finally {
      holder.current = saved
    }
  }

  #writeThrough(entry: DirtyEntry<K, V>): void {
    const old = this.inner.get(entry.key, entry.start, entry.end) ?? null
    if (old === null && entry.value === null) return
    this.env.recordContext.current = entry.context
    const stored = this.inner.put(entry.key, entry.start, entry.end, entry.value)
    // A window the store expired while this update waited in the cache was open when it was updated:
    // forward it all the same, as Kafka Streams' caching window store does (it forwards, then writes to
    // the store, which drops the expired window). A big batch between commits (a whole fetch) moves
    // stream time past many windows' retention before the flush; without this their last updates
    // were lost.
    if (stored || entry.value !== null)
      this.#listener?.(entry.key, entry.start, entry.end, entry.value, old, entry.context?.timestamp ?? 0)
  }
}

function unexpired<K, V>(entries: TimedEntry<K, V>[], expiredUpTo: number): TimedEntry<K, V>[] {
  return entries.some((e) => e.end <= expiredUpTo) ? entries.filter((e) => e.end > expiredUpTo) : entries
}

function overlay<K, V>(below: TimedEntry<K, V>[], dirty: readonly DirtyEntry<K, V>[]): TimedEntry<K, V>[] {
  const out = below.filter((b) => !dirty.some((d) => d.start === b.start && d.end === b.end))
  for (const d of dirty)
    if (d.value !== null) out.push({ key: d.key, start: d.start, end: d.end, value: d.value })
  return out.sort(compareEntries)
}
