// The innermost window/session store: each entry (key, start, end) is a slot in a few typed arrays, its
// value kept by a SlotValues (value-slots.ts): serialized in one byte arena for every store with a value
// serde, as objects otherwise. A Map goes from each key's id to its first slot, and an index by end time
// serves expiry and range reads over all keys. A serialized window of count + sum costs ~48 bytes of
// arrays plus its bytes, where objects took ~330 bytes of heap that the GC marked at every major
// collection.
// Retention is driven by stream time as the store sees it, the largest end written (Kafka Streams'
// InMemoryWindowStore and InMemorySessionStore observe the largest start, resp. end, written): entries
// with end <= observedEnd - retention are removed, and each removal is told to `onExpire`, which the
// change-logging layer turns into a tombstone. Restore expires silently: the changelog already holds
// those tombstones.
import type { KeyId, KeyIdOf } from './key-id.js'
import { ARRAY_SLOT_BYTES, mapBytes, structuredKeyBytes } from './store-bytes.js'
import { grown, type SlotValues } from './value-slots.js'
import {
  type BaseWindowLayer,
  type ExpiryListener,
  type KeyBytesOf,
  sortByTime,
  type TimedEntry,
} from './window-layer.js'

const NONE = -1
const INITIAL_SLOTS = 64

export class WindowInMemoryLayer<K, V, S = unknown> implements BaseWindowLayer<K, V> {
  /** Key id -> the key's first slot; a key's slots are linked by #nextOfKey, ascending by start then end. */
  readonly #firstOfKey = new Map<KeyId, number>()
  // Per slot, beside its value (values). A free slot has no key (undefined).
  #keyOf: Array<K | undefined> = []
  #start = new Float64Array(INITIAL_SLOTS)
  #end = new Float64Array(INITIAL_SLOTS)
  #nextOfKey = new Int32Array(INITIAL_SLOTS)
  #prevOfEnd = new Int32Array(INITIAL_SLOTS)
  #nextOfEnd = new Int32Array(INITIAL_SLOTS)
  #size = 0
  // The index by end: distinct ends ascending from #head on, and beside each the first slot of its list
  // (NONE once emptied; the end stays until it expires, cheaper than splicing). Writes come mostly in end
  // order, so a new end is an append and finding an end's slot looks at the last one first. Expiry
  // advances #head instead of splicing the front off (a memmove of both arrays per write when every
  // record has its own end, as sessions do); the dead prefix is cut when it is more than half of them.
  #ends: number[] = []
  #heads: number[] = []
  #head = 0
  #observedEnd = Number.NEGATIVE_INFINITY
  #restoring = false
  onExpire: ExpiryListener<K> | undefined

  constructor(
    readonly name: string,
    private readonly keyId: KeyIdOf<K>,
    readonly retentionMs: number,
    /** Keeps the values and allocates the slots. */
    private readonly values: SlotValues<V, S>,
    private readonly keyBytes?: KeyBytesOf<K>,
  ) {}

  get observedEnd(): number {
    return this.#observedEnd
  }

  get(key: K, start: number, end: number): V | undefined {
    const slot = this.#find(this.#firstOfKey.get(this.keyId(key)) ?? NONE, start, end)
    return slot === NONE ? undefined : this.values.read(slot)
  }

  get lastPutBytes(): Buffer | null | undefined {
    return this.values.lastPutBytes
  }

  put(key: K, start: number, end: number, value: V | null): boolean {
    return this.#write(key, start, end, value === null ? null : this.values.prepare(value))
  }

  /** A write from the changelog, its value as stored (a serialized store: the changelog's bytes): no expiry notifications. */
  restore(key: K, start: number, end: number, stored: S | null): void {
    this.#restoring = true
    try {
      this.#write(key, start, end, stored)
    } finally {
      this.#restoring = false
    }
  }

  observe(end: number): void {
    if (end <= this.#observedEnd) return
    this.#observedEnd = end
    this.#expire(end - this.retentionMs)
  }

  fetchKey(key: K): TimedEntry<K, V>[] {
    const out: TimedEntry<K, V>[] = []
    for (let s = this.#firstOfKey.get(this.keyId(key)) ?? NONE; s !== NONE; s = this.#nextOfKey[s] as number)
      out.push(this.#entry(s))
    return out
  }

  fetchByEnd(endFrom: number, endTo: number): TimedEntry<K, V>[] {
    const out: TimedEntry<K, V>[] = []
    const ends = this.#ends
    for (let i = lowerBound(ends, endFrom, this.#head); i < ends.length && (ends[i] as number) <= endTo; i++)
      for (let s = this.#heads[i] as number; s !== NONE; s = this.#nextOfEnd[s] as number)
        out.push(this.#entry(s))
    return sortByTime(out, this.keyBytes)
  }

  approximateNumEntries(): number {
    return this.#size
  }

  approximateBytes(): number {
    const arrays =
      this.#start.byteLength +
      this.#end.byteLength +
      this.#nextOfKey.byteLength +
      this.#prevOfEnd.byteLength +
      this.#nextOfEnd.byteLength
    return (
      arrays +
      mapBytes(this.#firstOfKey) +
      ARRAY_SLOT_BYTES * (this.#keyOf.length + this.#ends.length + this.#heads.length) +
      structuredKeyBytes(() => this.#liveKeys(), this.#firstOfKey.size) +
      this.values.approximateBytes()
    )
  }

  *#liveKeys(): Generator<K> {
    for (const key of this.#keyOf) if (key !== undefined) yield key
  }

  flush(): void {}

  close(): void {
    this.#firstOfKey.clear()
    this.#keyOf = []
    this.values.clear()
    this.#size = 0
    this.#ends = []
    this.#heads = []
    this.#head = 0
  }

  #write(key: K, start: number, end: number, stored: S | null): boolean {
    if (end > this.#observedEnd) this.#observedEnd = end
    const expiredUpTo = this.#observedEnd - this.retentionMs
    if (end <= expiredUpTo) return false
    const id = this.keyId(key)
    const first = this.#firstOfKey.get(id) ?? NONE
    // The slot after which the entry goes (NONE: first of its key), and the entry itself if present.
    let before = NONE
    let s = first
    while (s !== NONE) {
      const st = this.#start[s] as number
      if (st > start || (st === start && (this.#end[s] as number) >= end)) break
      before = s
      s = this.#nextOfKey[s] as number
    }
    if (s !== NONE && this.#start[s] === start && this.#end[s] === end) {
      if (stored === null) this.#remove(id, s, before)
      else this.values.set(s, stored)
    } else if (stored !== null) {
      const slot = this.values.allocate(stored)
      if (slot >= this.#start.length) this.#grow(this.values.capacity)
      // A key's slots share one key (records of a key each bring their own copy of it).
      this.#keyOf[slot] = first === NONE ? key : (this.#keyOf[first] as K)
      this.#start[slot] = start
      this.#end[slot] = end
      this.#nextOfKey[slot] = s
      if (before === NONE) this.#firstOfKey.set(id, slot)
      else this.#nextOfKey[before] = slot
      this.#index(slot, end)
      this.#size++
    }
    this.#expire(expiredUpTo)
    return true
  }

  #find(first: number, start: number, end: number): number {
    for (let s = first; s !== NONE; s = this.#nextOfKey[s] as number)
      if (this.#start[s] === start && this.#end[s] === end) return s
    return NONE
  }

  #entry(slot: number): TimedEntry<K, V> {
    return {
      key: this.#keyOf[slot] as K,
      start: this.#start[slot] as number,
      end: this.#end[slot] as number,
      value: this.values.read(slot),
    }
  }

  #grow(capacity: number): void {
    this.#start = grown(this.#start, new Float64Array(capacity))
    this.#end = grown(this.#end, new Float64Array(capacity))
    this.#nextOfKey = grown(this.#nextOfKey, new Int32Array(capacity))
    this.#prevOfEnd = grown(this.#prevOfEnd, new Int32Array(capacity))
    this.#nextOfEnd = grown(this.#nextOfEnd, new Int32Array(capacity))
  }

  /** Unlinks a slot from its key (after `before`, or first) and its end, and frees it. */
  #remove(id: KeyId, slot: number, before: number): void {
    const next = this.#nextOfKey[slot] as number
    if (before !== NONE) this.#nextOfKey[before] = next
    else if (next === NONE) this.#firstOfKey.delete(id)
    else this.#firstOfKey.set(id, next)
    const prevEnd = this.#prevOfEnd[slot] as number
    const nextEnd = this.#nextOfEnd[slot] as number
    if (nextEnd !== NONE) this.#prevOfEnd[nextEnd] = prevEnd
    if (prevEnd !== NONE) this.#nextOfEnd[prevEnd] = nextEnd
    else this.#heads[this.#slot(this.#end[slot] as number)] = nextEnd
    this.#release(slot)
  }

  #release(slot: number): void {
    this.values.release(slot)
    this.#keyOf[slot] = undefined
    this.#size--
  }

  /** The index of `end` in #ends / #heads, or -1 - where it would go. */
  #slot(end: number): number {
    const ends = this.#ends
    const last = ends.length - 1
    if (last < this.#head || (ends[last] as number) < end) return -1 - ends.length
    if (ends[last] === end) return last
    const at = lowerBound(ends, end, this.#head)
    return ends[at] === end ? at : -1 - at
  }

  #index(slot: number, end: number): void {
    this.#prevOfEnd[slot] = NONE
    const i = this.#slot(end)
    if (i < 0) {
      this.#nextOfEnd[slot] = NONE
      const at = -1 - i
      if (at === this.#ends.length) {
        this.#ends.push(end)
        this.#heads.push(slot)
      } else {
        this.#ends.splice(at, 0, end)
        this.#heads.splice(at, 0, slot)
      }
      return
    }
    const head = this.#heads[i] as number
    if (head === NONE) {
      this.#nextOfEnd[slot] = NONE
      this.#heads[i] = slot
      return
    }
    // After the head: one write to a link instead of to #heads.
    const next = this.#nextOfEnd[head] as number
    this.#prevOfEnd[slot] = head
    this.#nextOfEnd[slot] = next
    if (next !== NONE) this.#prevOfEnd[next] = slot
    this.#nextOfEnd[head] = slot
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
      let s = heads[i] as number
      heads[i] = NONE
      while (s !== NONE) {
        const next = this.#nextOfEnd[s] as number
        const key = this.#keyOf[s] as K
        const start = this.#start[s] as number
        const end = this.#end[s] as number
        this.#unlinkFromKey(key, s)
        this.#release(s)
        if (!this.#restoring) this.onExpire?.(key, start, end)
        s = next
      }
    }
    if (this.#head > 1024 && this.#head * 2 > ends.length) {
      this.#ends = ends.slice(this.#head)
      this.#heads = heads.slice(this.#head)
      this.#head = 0
    }
  }

  #unlinkFromKey(key: K, slot: number): void {
    const id = this.keyId(key)
    let before = NONE
    let s = this.#firstOfKey.get(id) ?? NONE
    while (s !== NONE && s !== slot) {
      before = s
      s = this.#nextOfKey[s] as number
    }
    if (s === NONE) return
    const next = this.#nextOfKey[slot] as number
    if (before !== NONE) this.#nextOfKey[before] = next
    else if (next === NONE) this.#firstOfKey.delete(id)
    else this.#firstOfKey.set(id, next)
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
