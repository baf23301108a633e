// The innermost layer of window and session stores that have serdes (every logged store): the same
// contract as WindowInMemoryLayer (window-in-memory-layer.ts), in a fraction of its memory. Each entry is
// a slot in a few typed arrays (start, end, links) and its value is kept serialized in one byte arena;
// a Map goes from each key's id to its first slot. An entry costs ~48 bytes plus its value's bytes,
// where the object layer kept an entry object, its key's array, the value's wrapper and the aggregate
// (~330 bytes of heap for a window of count + sum), and the garbage collector has a few large arrays to
// mark instead of millions of small objects.
// Values are deserialized on every read, as Kafka Streams' byte stores do. A value whose serializer
// returns null is a delete, as the changelog's tombstone makes it on restore.
import type { Serde } from '../../serdes.js'
import type { KeyId, KeyIdOf } from './key-id.js'
import { grown, ValueSlots } from './value-slots.js'
import {
  type BaseWindowLayer,
  type ExpiryListener,
  type KeyBytesOf,
  sortByTime,
  type TimedEntry,
} from './window-layer.js'

const NONE = -1
const INITIAL_SLOTS = 64

export class WindowCompactLayer<K, V> implements BaseWindowLayer<K, V> {
  /** Key id -> the key's first slot; a key's slots are linked by #nextOfKey, ascending by start then end. */
  readonly #firstOfKey = new Map<KeyId, number>()
  // Per slot, beside the value (#values). A free slot has no key (undefined).
  #keyOf: Array<K | undefined> = []
  #start = new Float64Array(INITIAL_SLOTS)
  #end = new Float64Array(INITIAL_SLOTS)
  #nextOfKey = new Int32Array(INITIAL_SLOTS)
  #prevOfEnd = new Int32Array(INITIAL_SLOTS)
  #nextOfEnd = new Int32Array(INITIAL_SLOTS)
  // The values, serialized, and the slots themselves (allocated and freed there).
  readonly #values = new ValueSlots()
  #size = 0
  // The index by end, as in WindowInMemoryLayer: distinct ends ascending from #head on, and beside each
  // the first slot of its list (NONE once emptied; the end stays until it expires).
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
    private readonly topic: string,
    private readonly valueSerde: Serde<V>,
    private readonly keyBytes?: KeyBytesOf<K>,
  ) {}

  get observedEnd(): number {
    return this.#observedEnd
  }

  get(key: K, start: number, end: number): V | undefined {
    const slot = this.#find(this.#firstOfKey.get(this.keyId(key)) ?? NONE, start, end)
    return slot === NONE ? undefined : this.#value(slot)
  }

  lastPutBytes: Buffer | null = null

  put(key: K, start: number, end: number, value: V | null): boolean {
    const bytes = value === null ? null : this.valueSerde.serialize(this.topic, value)
    this.lastPutBytes = bytes
    return this.#write(key, start, end, bytes)
  }

  /** A write from the changelog, its value as the changelog holds it: no expiry notifications. */
  restore(key: K, start: number, end: number, value: Buffer | null): void {
    this.#restoring = true
    try {
      this.#write(key, start, end, value)
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

  flush(): void {}

  close(): void {
    this.#firstOfKey.clear()
    this.#keyOf = []
    this.#values.clear()
    this.#size = 0
    this.#ends = []
    this.#heads = []
    this.#head = 0
  }

  #write(key: K, start: number, end: number, bytes: Buffer | null): boolean {
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
      if (bytes === null) this.#remove(id, s, before)
      else this.#values.set(s, bytes)
    } else if (bytes !== null) {
      const slot = this.#values.allocate(bytes)
      if (slot >= this.#start.length) this.#grow(this.#values.capacity)
      this.#keyOf[slot] = key
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

  #value(slot: number): V {
    return this.valueSerde.deserialize(this.topic, this.#values.view(slot))
  }

  #entry(slot: number): TimedEntry<K, V> {
    return {
      key: this.#keyOf[slot] as K,
      start: this.#start[slot] as number,
      end: this.#end[slot] as number,
      value: this.#value(slot),
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
    this.#values.release(slot)
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
    // After the head, as WindowInMemoryLayer links it: the same order of expiry (and of tombstones).
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
