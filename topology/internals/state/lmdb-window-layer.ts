// The innermost layer of a window or session store kept in LMDB (windowStateStore 'lmdb'), in place of
// WindowInMemoryLayer: the entries live in the task's database of that store (LmdbStores), so that
// the windows of a large state sit in the page cache instead of the heap, and survive a clean restart
// with the key-value stores' checkpoint.
//
// One database holds three kinds of keys, each after a tag byte:
//   0x00 [key length: uint16 BE][serialized key][start][end] -> the serialized value
//        (a key's entries are adjacent, ascending by start then end: fetchKey is one range read);
//   0x01 [end][start][serialized key] -> one byte, 0
//        (the index by end, in Kafka Streams' time order: fetchByEnd and expiry are range reads);
//   0x02 -> the emit-close marker (emit-close-marker.ts), written at each flush, so that a store whose
//        restore the checkpoint skips still finds its processor's stream time and emitted close time.
// Times are int64 BE with the sign bit flipped, so that byte order is numeric order.
//
// As in LmdbKeyValueStore, writes collect in memory (here a WindowInMemoryLayer of pending values,
// tombstones included) that reads look at first, and go to LMDB at flush (each commit, in write
// transactions of KEYS_PER_TRANSACTION keys) or once PENDING_LIMIT entries wait. Retention is the
// in-memory layer's: entries whose end is <= (largest end written) - retention expire, each told to
// `onExpire` (the changelog's tombstone) except during restore. Expiry reads only the range of ends it
// newly passes.
import type { Database } from 'lmdb'
import { TopologyError } from '../../errors.js'
import type { Serde } from '../../serdes.js'
import type { EmitCloseMarker } from './emit-close-marker.js'
import type { KeyIdOf } from './key-id.js'
import {
  KEYS_PER_TRANSACTION,
  type LmdbStores,
  MAX_KEY_BYTES,
  PENDING_LIMIT,
  writeInTransactions,
} from './lmdb-key-value-store.js'
import { ObjectValues } from './value-slots.js'
import { WindowInMemoryLayer } from './window-in-memory-layer.js'
import { type BaseWindowLayer, type ExpiryListener, sortByTime, type TimedEntry } from './window-layer.js'

const ENTRY_TAG = 0
const END_TAG = 1
const MARKER_KEY = Buffer.from([2])
const EMPTY = Buffer.alloc(0)
/** The index entries' value: one byte, not none (lmdb-js special-cases zero-length values, #161). */
const INDEX_VALUE = Buffer.from([0])
const TIME_BYTES = 8
const TWO_32 = 4294967296
/** The longest serialized key: the entry's key adds 19 bytes to it, the index's 17. */
export const MAX_WINDOW_KEY_BYTES = MAX_KEY_BYTES + 1 - 3 - 2 * TIME_BYTES

/** A pending write: the serialized value, or null for a delete, and the key as serialized once. */
interface PendingValue {
  readonly bytes: Buffer | null
  readonly keyBytes: Buffer
}

function writeTime(out: Buffer, value: number, at: number): void {
  const high = Math.floor(value / TWO_32)
  out.writeUInt32BE((high + 0x80000000) >>> 0, at)
  out.writeUInt32BE(value - high * TWO_32, at + 4)
}

function readTime(bytes: Buffer, at: number): number {
  return (bytes.readUInt32BE(at) - 0x80000000) * TWO_32 + bytes.readUInt32BE(at + 4)
}

/** The first index key of entries ending at `end` or later (-Infinity: the first of all). */
function endBound(end: number): Buffer {
  if (end === Number.NEGATIVE_INFINITY) return Buffer.from([END_TAG])
  if (end === Number.POSITIVE_INFINITY) return Buffer.from([END_TAG + 1])
  const out = Buffer.allocUnsafe(1 + TIME_BYTES)
  out[0] = END_TAG
  writeTime(out, end, 1)
  return out
}

export class LmdbWindowLayer<K, V> implements BaseWindowLayer<K, V> {
  readonly persistent = true
  readonly #stores: LmdbStores
  readonly #db: Database<Buffer, Buffer>
  readonly #databaseName: string
  #pending: WindowInMemoryLayer<K, PendingValue, PendingValue>
  #observedEnd = Number.NEGATIVE_INFINITY
  /** Every entry ending at or before this has been expired (a tombstone pending, or gone from LMDB). */
  #expiredThrough = Number.NEGATIVE_INFINITY
  #restoring = false
  /** The marker as LMDB holds it. */
  #markerWritten: Buffer | undefined
  lastPutBytes: Buffer | null = null
  onExpire: ExpiryListener<K> | undefined

  constructor(
    readonly name: string,
    stores: LmdbStores,
    databaseName: string,
    private readonly keyId: KeyIdOf<K>,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    /** The topic the serdes are called with (the changelog's). */
    private readonly topic: string,
    readonly retentionMs: number,
    /** Kept with the entries at each flush, and read back by loadAfterRestore(). */
    private readonly marker?: EmitCloseMarker,
  ) {
    this.#stores = stores
    this.#pending = this.#newPending()
    const opened = stores.open(databaseName, () => this.#pending.approximateNumEntries() > 0)
    this.#databaseName = opened.name
    this.#db = opened.db
  }

  get observedEnd(): number {
    return this.#observedEnd
  }

  /**
   * Once the restore is done (or skipped by a checkpoint): the largest end the database holds and the
   * marker kept with it, which a restore of records would have set and one skipped has not.
   */
  loadAfterRestore(): void {
    this.flush()
    for (const k of this.#db.getKeys({ reverse: true })) {
      if ((k[0] as number) > END_TAG) continue // the marker
      if (k[0] === END_TAG) this.#observedEnd = Math.max(this.#observedEnd, readTime(k, 1))
      break
    }
    const marker = this.#db.get(MARKER_KEY)
    this.#markerWritten = marker
    if (marker !== undefined && this.marker !== undefined) this.marker.restore(marker)
  }

  get(key: K, start: number, end: number): V | undefined {
    const pending = this.#pending.get(key, start, end)
    const bytes = pending === undefined ? this.#read(this.#keyBytes(key), start, end) : pending.bytes
    return bytes === null || bytes === undefined ? undefined : this.valueSerde.deserialize(this.topic, bytes)
  }

  put(key: K, start: number, end: number, value: V | null): boolean {
    this.lastPutBytes = value === null ? null : this.valueSerde.serialize(this.topic, value)
    return this.#write(key, start, end, this.lastPutBytes)
  }

  /** A write from the changelog, its value as the changelog holds it: no expiry notifications. */
  restore(key: K, start: number, end: number, bytes: Buffer | null): void {
    this.#restoring = true
    try {
      this.#write(key, start, end, bytes)
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
    const keyBytes = this.#keyBytes(key)
    if (keyBytes.length > MAX_WINDOW_KEY_BYTES) return [] // never stored
    const prefix = Buffer.allocUnsafe(3 + keyBytes.length)
    prefix[0] = ENTRY_TAG
    prefix.writeUInt16BE(keyBytes.length, 1)
    keyBytes.copy(prefix, 3)
    const pending = this.#pending.fetchKey(key)
    const out: TimedEntry<K, V>[] = []
    for (const p of pending)
      if (p.value.bytes !== null) out.push(this.#entry(key, p.start, p.end, p.value.bytes))
    const upTo = Buffer.concat([prefix, Buffer.alloc(2 * TIME_BYTES, 0xff)])
    for (const { key: k, value } of this.#db.getRange({ start: prefix, end: upTo })) {
      const entryKey = k as Buffer
      const start = readTime(entryKey, prefix.length)
      const end = readTime(entryKey, prefix.length + TIME_BYTES)
      if (this.#pending.get(key, start, end) !== undefined) continue
      out.push(this.#entry(key, start, end, value))
    }
    return pending.length === 0 ? out : out.sort((a, b) => a.start - b.start || a.end - b.end)
  }

  fetchByEnd(endFrom: number, endTo: number): TimedEntry<K, V>[] {
    const out: TimedEntry<K, V>[] = []
    for (const p of this.#pending.fetchByEnd(endFrom, endTo))
      if (p.value.bytes !== null) out.push(this.#entry(p.key, p.start, p.end, p.value.bytes))
    for (const { key, start, end, keyBytes } of this.#indexed(endFrom, endTo)) {
      if (this.#pending.get(key, start, end) !== undefined) continue
      const bytes = this.#read(keyBytes, start, end)
      if (bytes !== undefined) out.push(this.#entry(key, start, end, bytes))
    }
    return sortByTime(out, (k) => this.#keyBytes(k))
  }

  /** Exact: the pending writes go to LMDB first. Each entry has two keys, the marker one. */
  approximateNumEntries(): number {
    this.flush()
    return Math.floor((this.#db.getStats() as { entryCount: number }).entryCount / 2)
  }

  /** The memory the store holds: its pending writes (the rest is in LMDB's files and the page cache). */
  approximateBytes(): number {
    return this.#pending.approximateBytes()
  }

  /** Writes the pending entries, and the marker, to LMDB (in transactions of KEYS_PER_TRANSACTION keys). */
  flush(): void {
    let marker =
      this.marker !== undefined &&
      (this.marker.streamTime !== undefined || this.marker.closeTime !== undefined)
        ? this.marker.encode()
        : undefined
    // Written when it changed only: after a checkpoint nothing may write to the files.
    if (marker !== undefined && this.#markerWritten?.equals(marker)) marker = undefined
    else if (marker !== undefined) this.#markerWritten = marker
    const pending = this.#pending
    if (pending.approximateNumEntries() === 0 && marker === undefined) return
    this.#pending = this.#newPending()
    const db = this.#db
    // Two keys per window: the entry and its index.
    writeInTransactions(
      db,
      pending.fetchByEnd(Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY),
      KEYS_PER_TRANSACTION / 2,
      ({ start, end, value }) => {
        const { keyBytes } = value
        const entryKey = this.#entryKey(keyBytes, start, end)
        const indexKey = this.#indexKey(keyBytes, start, end)
        if (value.bytes === null) {
          db.removeSync(entryKey)
          db.removeSync(indexKey)
        } else {
          db.putSync(entryKey, value.bytes)
          db.putSync(indexKey, INDEX_VALUE)
        }
      },
      marker === undefined ? undefined : () => db.putSync(MARKER_KEY, marker),
    )
  }

  /** Drops the database, unless a checkpoint written after the last commit keeps it (as LmdbKeyValueStore). */
  close(): void {
    this.#pending = this.#newPending()
    this.#markerWritten = undefined
    this.#stores.release(this.#databaseName)
  }

  #newPending(): WindowInMemoryLayer<K, PendingValue, PendingValue> {
    // No retention of its own: what expires is decided here, over LMDB's entries and the pending ones.
    return new WindowInMemoryLayer(
      this.name,
      this.keyId,
      Number.POSITIVE_INFINITY,
      new ObjectValues<PendingValue>(),
    )
  }

  #write(key: K, start: number, end: number, bytes: Buffer | null): boolean {
    if (end > this.#observedEnd) this.#observedEnd = end
    const expiredUpTo = this.#observedEnd - this.retentionMs
    if (end <= expiredUpTo) return false
    const keyBytes = this.#keyBytes(key)
    if (keyBytes.length > MAX_WINDOW_KEY_BYTES) {
      // A delete of a key too long to have been stored has nothing to remove (nor may LMDB be asked to).
      if (bytes === null) return true
      this.#tooLarge(keyBytes.length)
    }
    this.#pending.put(key, start, end, { bytes, keyBytes })
    this.#expire(expiredUpTo)
    if (this.#pending.approximateNumEntries() >= PENDING_LIMIT) this.flush()
    return true
  }

  // Deletes what ends in (#expiredThrough, expiredUpTo]: LMDB's entries by a range read of the index, the
  // pending ones from the pending layer, each told to onExpire once.
  #expire(expiredUpTo: number): void {
    const from = this.#expiredThrough
    if (expiredUpTo <= from) return
    this.#expiredThrough = expiredUpTo
    const expired: { key: K; start: number; end: number; keyBytes: Buffer }[] = []
    for (const p of this.#pending.fetchByEnd(from, expiredUpTo))
      if (p.end > from && p.value.bytes !== null) expired.push({ ...p, keyBytes: p.value.keyBytes })
    for (const e of this.#indexed(from, expiredUpTo))
      if (e.end > from && this.#pending.get(e.key, e.start, e.end) === undefined) expired.push(e)
    for (const { key, start, end, keyBytes } of expired) {
      this.#pending.put(key, start, end, { bytes: null, keyBytes })
      if (!this.#restoring) this.onExpire?.(key, start, end)
    }
  }

  /** The index's entries whose end is in [endFrom, endTo]. */
  *#indexed(
    endFrom: number,
    endTo: number,
  ): Generator<{ key: K; start: number; end: number; keyBytes: Buffer }> {
    const range = {
      start: endBound(endFrom),
      end: endBound(endTo === Number.POSITIVE_INFINITY ? endTo : endTo + 1),
    }
    for (const k of this.#db.getKeys(range)) {
      const indexKey = k as Buffer
      const keyBytes = Buffer.from(indexKey.subarray(1 + 2 * TIME_BYTES))
      yield {
        key: this.keySerde.deserialize(this.topic, keyBytes),
        start: readTime(indexKey, 1 + TIME_BYTES),
        end: readTime(indexKey, 1),
        keyBytes,
      }
    }
  }

  #read(keyBytes: Buffer, start: number, end: number): Buffer | undefined {
    return keyBytes.length > MAX_WINDOW_KEY_BYTES
      ? undefined
      : this.#db.get(this.#entryKey(keyBytes, start, end))
  }

  #entry(key: K, start: number, end: number, bytes: Buffer): TimedEntry<K, V> {
    return { key, start, end, value: this.valueSerde.deserialize(this.topic, bytes) }
  }

  #keyBytes(key: K): Buffer {
    return this.keySerde.serialize(this.topic, key) ?? EMPTY
  }

  #tooLarge(length: number): never {
    throw new TopologyError(
      'STORE_KEY_TOO_LARGE',
      `store ${this.name} keeps its windows in LMDB, whose keys allow at most ${MAX_WINDOW_KEY_BYTES} bytes ` +
        `of a window's key; this key serializes to ${length}. Shorten the key (a hash of it), or keep ` +
        "the windows in memory (windowStateStore 'memory')",
      { subject: this.name },
    )
  }

  #entryKey(keyBytes: Buffer, start: number, end: number): Buffer {
    const out = Buffer.allocUnsafe(3 + keyBytes.length + 2 * TIME_BYTES)
    out[0] = ENTRY_TAG
    out.writeUInt16BE(keyBytes.length, 1)
    keyBytes.copy(out, 3)
    writeTime(out, start, 3 + keyBytes.length)
    writeTime(out, end, 3 + keyBytes.length + TIME_BYTES)
    return out
  }

  #indexKey(keyBytes: Buffer, start: number, end: number): Buffer {
    const out = Buffer.allocUnsafe(1 + 2 * TIME_BYTES + keyBytes.length)
    out[0] = END_TAG
    writeTime(out, end, 1)
    writeTime(out, start, 1 + TIME_BYTES)
    keyBytes.copy(out, 1 + 2 * TIME_BYTES)
    return out
  }
}
