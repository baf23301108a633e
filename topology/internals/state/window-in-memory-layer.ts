// The innermost window/session store: entries per key (a short array, sorted by start then end) and an
// index by end time for expiry and range reads over all keys. Retention is driven by stream time as the
// store sees it, the largest end written (Kafka Streams' InMemoryWindowStore and InMemorySessionStore
// observe the largest start, resp. end, written): entries with end <= observedEnd - retention are removed,
// and each removal is told to `onExpire`, which the change-logging layer turns into a tombstone. Restore
// expires silently: the changelog already holds those tombstones.
import type { KeyId, KeyIdOf } from './key-id.js'
import {
  type BaseWindowLayer,
  type ExpiryListener,
  type KeyBytesOf,
  sortByTime,
  type TimedEntry,
} from './window-layer.js'

class Entry<K, V> implements TimedEntry<K, V> {
  // The entries of one end form a doubly linked list (its head in #heads): adding and removing one
  // allocates nothing, where a Set per end cost an allocation per distinct end, i.e. per record for
  // sessions.
  prevOfEnd: Entry<K, V> | undefined = undefined
  nextOfEnd: Entry<K, V> | undefined = undefined

  constructor(
    readonly key: K,
    readonly id: KeyId,
    readonly start: number,
    readonly end: number,
    public value: V,
  ) {}
}

export class WindowInMemoryLayer<K, V> implements BaseWindowLayer<K, V> {
  readonly #byKey = new Map<KeyId, Entry<K, V>[]>()
  // The index by end: distinct ends ascending from #head on, and beside each the head of its entries'
  // list (undefined once they are all removed; the slot stays until it expires, cheaper than splicing).
  // Writes come mostly in end order, so a new end is an append and finding an end's slot looks at the
  // last one first. Expiry advances #head instead of splicing the front off (a memmove of both arrays per
  // write when every record has its own end, as sessions do); the dead prefix is cut when it is more
  // than half of the arrays.
  #ends: number[] = []
  #heads: Array<Entry<K, V> | undefined> = []
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
    const list = this.#byKey.get(id)
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
      // A literal of one: most keys have one or a few windows, and `[]` + splice reserves room for 17
      // (150 bytes a key, a third of a store's memory with 1M keys).
      if (list === undefined) this.#byKey.set(id, [entry])
      else list.splice(at, 0, entry)
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
    const heads = this.#heads
    for (
      let i = lowerBound(ends, endFrom, this.#head);
      i < ends.length && (ends[i] as number) <= endTo;
      i++
    ) {
      for (let e = heads[i]; e !== undefined; e = e.nextOfEnd) out.push(e)
    }
    return sortByTime(out, this.keyBytes)
  }

  approximateNumEntries(): number {
    return this.#size
  }

  flush(): void {}

  close(): void {
    this.#byKey.clear()
    this.#ends = []
    this.#heads = []
    this.#head = 0
    this.#size = 0
  }

  /** The slot of `end` in #ends / #heads, or -1 (-1 - where it would go) when there is none. */
  #slot(end: number): number {
    const ends = this.#ends
    const last = ends.length - 1
    if (last < this.#head || (ends[last] as number) < end) return -1 - ends.length
    if (ends[last] === end) return last
    const at = lowerBound(ends, end, this.#head)
    return ends[at] === end ? at : -1 - at
  }

  #index(entry: Entry<K, V>): void {
    // Entries ending at or before the expired bound are never indexed, so the end lands after #head.
    const slot = this.#slot(entry.end)
    if (slot < 0) {
      const at = -1 - slot
      if (at === this.#ends.length) {
        this.#ends.push(entry.end)
        this.#heads.push(entry)
      } else {
        this.#ends.splice(at, 0, entry.end)
        this.#heads.splice(at, 0, entry)
      }
      return
    }
    const head = this.#heads[slot]
    if (head === undefined) {
      this.#heads[slot] = entry
      return
    }
    // After the head: no write to #heads.
    const next = head.nextOfEnd
    entry.prevOfEnd = head
    entry.nextOfEnd = next
    if (next !== undefined) next.prevOfEnd = entry
    head.nextOfEnd = entry
  }

  #remove(list: Entry<K, V>[], at: number, entry: Entry<K, V>): void {
    list.splice(at, 1)
    if (list.length === 0) this.#byKey.delete(entry.id)
    const { prevOfEnd: prev, nextOfEnd: next } = entry
    if (next !== undefined) next.prevOfEnd = prev
    if (prev !== undefined) prev.nextOfEnd = next
    else this.#heads[this.#slot(entry.end)] = next
    entry.prevOfEnd = undefined
    entry.nextOfEnd = undefined
    this.#size--
  }

  #expire(expiredUpTo: number): void {
    const ends = this.#ends
    const heads = this.#heads
    const head = this.#head
    let n = head
    while (n < ends.length && (ends[n] as number) <= expiredUpTo) n++
    if (n === head) return
    this.#head = n
    for (let i = head; i < n; i++) {
      let entry = heads[i]
      heads[i] = undefined
      while (entry !== undefined) {
        const list = this.#byKey.get(entry.id)
        if (list !== undefined) {
          const at = list.indexOf(entry)
          if (at >= 0) list.splice(at, 1)
          if (list.length === 0) this.#byKey.delete(entry.id)
        }
        this.#size--
        if (!this.#restoring) this.onExpire?.(entry.key, entry.start, entry.end)
        entry = entry.nextOfEnd
      }
    }
    if (this.#head > 1024 && this.#head * 2 > ends.length) {
      this.#ends = ends.slice(this.#head)
      this.#heads = heads.slice(this.#head)
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
