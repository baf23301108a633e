// The innermost window/session store: entries per key (a short array, sorted by start then end) and an
// index by end time for expiry and range reads over all keys. Retention is driven by stream time as the
// store sees it, the largest end written (Kafka Streams' InMemoryWindowStore and InMemorySessionStore
// observe the largest start, resp. end, written): entries with end <= observedEnd - retention are removed,
// and each removal is told to `onExpire`, which the change-logging layer turns into a tombstone. Restore
// expires silently: the changelog already holds those tombstones.
import type { KeyId, KeyIdOf } from './key-id.js'
import { type KeyBytesOf, sortByTime, type TimedEntry, type WindowLayer } from './window-layer.js'

class Entry<K, V> implements TimedEntry<K, V> {
  constructor(
    readonly key: K,
    readonly id: KeyId,
    readonly start: number,
    readonly end: number,
    public value: V,
  ) {}
}

export type ExpiryListener<K> = (key: K, start: number, end: number) => void

export class WindowInMemoryLayer<K, V> implements WindowLayer<K, V> {
  readonly #byKey = new Map<KeyId, Entry<K, V>[]>()
  readonly #byEnd = new Map<number, Set<Entry<K, V>>>()
  // Distinct ends present in #byEnd, ascending, from #head on. Writes come mostly in end order, so inserts
  // are appends. Expiry advances #head instead of splicing the front off (a memmove of the whole array
  // per write when every record has its own end, as sessions do); the dead prefix is cut when it is
  // more than half of the array.
  #ends: number[] = []
  #head = 0
  #size = 0
  #observedEnd = Number.NEGATIVE_INFINITY
  #restoring = false
  onExpire: ExpiryListener<K> | undefined

  constructor(
    readonly name: string,
    private readonly keyId: KeyIdOf<K>,
    readonly retentionMs: number,
    private readonly keyBytes?: KeyBytesOf<K>,
  ) {}

  get observedEnd(): number {
    return this.#observedEnd
  }

  get(key: K, start: number, end: number): V | undefined {
    const list = this.#byKey.get(this.keyId(key))
    if (list === undefined) return undefined
    for (const entry of list) if (entry.start === start && entry.end === end) return entry.value
    return undefined
  }

  put(key: K, start: number, end: number, value: V | null): boolean {
    if (end > this.#observedEnd) this.#observedEnd = end
    const expiredUpTo = this.#observedEnd - this.retentionMs
    if (end <= expiredUpTo) return false
    const id = this.keyId(key)
    let list = this.#byKey.get(id)
    let at = 0
    if (list !== undefined) {
      while (at < list.length) {
        const e = list[at] as Entry<K, V>
        if (e.start > start || (e.start === start && e.end >= end)) break
        at++
      }
      const found = list[at]
      if (found !== undefined && found.start === start && found.end === end) {
        if (value === null) this.#remove(list, at, found)
        else found.value = value
        this.#expire(expiredUpTo)
        return true
      }
    }
    if (value !== null) {
      const entry = new Entry(key, id, start, end, value)
      if (list === undefined) {
        list = []
        this.#byKey.set(id, list)
      }
      list.splice(at, 0, entry)
      this.#index(entry)
      this.#size++
    }
    this.#expire(expiredUpTo)
    return true
  }

  observe(end: number): void {
    if (end <= this.#observedEnd) return
    this.#observedEnd = end
    this.#expire(end - this.retentionMs)
  }

  /** A write from the changelog: no expiry notifications. */
  restore(key: K, start: number, end: number, value: V | null): void {
    this.#restoring = true
    try {
      this.put(key, start, end, value)
    } finally {
      this.#restoring = false
    }
  }

  fetchKey(key: K): TimedEntry<K, V>[] {
    return this.#byKey.get(this.keyId(key))?.slice() ?? []
  }

  fetchByEnd(endFrom: number, endTo: number): TimedEntry<K, V>[] {
    const out: TimedEntry<K, V>[] = []
    const ends = this.#ends
    for (
      let i = lowerBound(ends, endFrom, this.#head);
      i < ends.length && (ends[i] as number) <= endTo;
      i++
    ) {
      const bucket = this.#byEnd.get(ends[i] as number)
      if (bucket !== undefined) for (const entry of bucket) out.push(entry)
    }
    return sortByTime(out, this.keyBytes)
  }

  approximateNumEntries(): number {
    return this.#size
  }

  flush(): void {}

  close(): void {
    this.#byKey.clear()
    this.#byEnd.clear()
    this.#ends = []
    this.#head = 0
    this.#size = 0
  }

  #index(entry: Entry<K, V>): void {
    let bucket = this.#byEnd.get(entry.end)
    if (bucket === undefined) {
      bucket = new Set()
      this.#byEnd.set(entry.end, bucket)
      const ends = this.#ends
      // Entries ending at or before the expired bound are never indexed, so the end lands after #head.
      if (ends.length === this.#head || (ends[ends.length - 1] as number) < entry.end) ends.push(entry.end)
      else ends.splice(lowerBound(ends, entry.end, this.#head), 0, entry.end)
    }
    bucket.add(entry)
  }

  #remove(list: Entry<K, V>[], at: number, entry: Entry<K, V>): void {
    list.splice(at, 1)
    if (list.length === 0) this.#byKey.delete(entry.id)
    // An emptied bucket stays in #ends until it expires: cheaper than splicing the sorted array.
    this.#byEnd.get(entry.end)?.delete(entry)
    this.#size--
  }

  #expire(expiredUpTo: number): void {
    const ends = this.#ends
    const head = this.#head
    let n = head
    while (n < ends.length && (ends[n] as number) <= expiredUpTo) n++
    if (n === head) return
    this.#head = n
    for (let i = head; i < n; i++) {
      const end = ends[i] as number
      const bucket = this.#byEnd.get(end)
      this.#byEnd.delete(end)
      if (bucket === undefined) continue
      for (const entry of bucket) {
        const list = this.#byKey.get(entry.id)
        if (list !== undefined) {
          const at = list.indexOf(entry)
          if (at >= 0) list.splice(at, 1)
          if (list.length === 0) this.#byKey.delete(entry.id)
        }
        this.#size--
        if (!this.#restoring) this.onExpire?.(entry.key, entry.start, entry.end)
      }
    }
    if (this.#head > 1024 && this.#head * 2 > ends.length) {
      this.#ends = ends.slice(this.#head)
      this.#head = 0
    }
  }
}

function lowerBound(sorted: readonly number[], value: number, from: number): number {
  let lo = from
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((sorted[mid] as number) < value) lo = mid + 1
    else hi = mid
  }
  return lo
}
