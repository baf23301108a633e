// The event ids deduplication remembers, kept compactly. A Map of id strings and the arrays of each
// second's ids took 96 bytes of heap per id (measured on 1M UUIDs as avsc decodes them), and the store
// kept each id again as JSON text (39 bytes): with a 1 h horizon the ids were a third of a processor's
// state (P8). Here an id is about 45 bytes:
// - each second's ids are encoded back to back in one Buffer, which is also the store's value and its
//   changelog record (a canonical UUID as 16 bytes, any other id as its UTF-8 bytes);
// - an open-addressing hash table of typed arrays indexes every id remembered: per id, its hash, the
//   second it is in and its offset there (12 bytes), and a slot of the table (at most half full).
//
// A second's value, as its changelog record holds it (also what a consumer in another language reads):
// one format byte (1), then for each id either 0x00 and the UUID's 16 bytes (for an id in canonical
// form: lowercase hex, 8-4-4-4-12), or 0x01, the UTF-8 length as a 32-bit little-endian integer and
// the UTF-8 bytes. Earlier versions wrote a JSON array of the ids: such a record is read as well.

const FORMAT = 1
const UUID_TAG = 0
const TEXT_TAG = 1
const LEGACY_JSON_START = 0x5b // '['

const INITIAL_SLOTS = 1024
const INITIAL_ENTRIES = 512
const NO_ENTRY = -1

interface Bucket {
  readonly start: number
  readonly handle: number
  bytes: Buffer
  used: number
}

/** Writes `id` at `out[at]` and returns where it ends. `out` needs 5 + 3 × id.length bytes from `at`. */
function encodeId(id: string, out: Buffer, at: number): number {
  if (id.length === 36 && writeUuid(id, out, at + 1)) {
    out[at] = UUID_TAG
    return at + 17
  }
  out[at] = TEXT_TAG
  const length = out.write(id, at + 5, 'utf8')
  out.writeUInt32LE(length, at + 1)
  return at + 5 + length
}

/** The value of a lowercase hex digit, or -1. */
function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  if (code >= 97 && code <= 102) return code - 87
  return -1
}

/** Writes a canonical UUID's 16 bytes at `out[at]`; false (and garbage written) if `id` is not one. */
function writeUuid(id: string, out: Buffer, at: number): boolean {
  let byte = 0
  for (let i = 0; i < 36; ) {
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (id.charCodeAt(i) !== 45) return false
      i++
      continue
    }
    const high = hexDigit(id.charCodeAt(i))
    const low = hexDigit(id.charCodeAt(i + 1))
    if (high < 0 || low < 0) return false
    out[at + byte++] = (high << 4) | low
    i += 2
  }
  return true
}

/** The length of the encoded id at `bytes[at]`. */
function encodedLength(bytes: Buffer, at: number): number {
  const tag = bytes[at]
  if (tag === UUID_TAG) return 17
  if (tag === TEXT_TAG) return 5 + bytes.readUInt32LE(at + 1)
  throw new Error(`seen ids: unknown id tag ${tag} at byte ${at}`)
}

/** FNV-1a of `bytes[from, to)`, with a final mix so that the low bits (the table's index) vary. */
function hashBytes(bytes: Buffer, from: number, to: number): number {
  let h = 0x811c9dc5
  for (let i = from; i < to; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  return h >>> 0
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** The ids of a second's value (any format this module reads), in the order they were seen. */
export function decodeSeenIds(value: Buffer): string[] {
  const bytes = fromStored(value)
  const ids: string[] = []
  for (let at = 1; at < bytes.length; at += encodedLength(bytes, at)) {
    if (bytes[at] === UUID_TAG) {
      let hex = ''
      for (let i = 0; i < 16; i++) hex += HEX[bytes[at + 1 + i] as number]
      ids.push(
        `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
      )
    } else {
      const length = bytes.readUInt32LE(at + 1)
      ids.push(bytes.toString('utf8', at + 5, at + 5 + length))
    }
  }
  return ids
}

/** A second's value as given to the store, or read back from it (an earlier JSON array converted). */
export function fromStored(value: Buffer): Buffer {
  if (value[0] === FORMAT) return value
  if (value[0] === LEGACY_JSON_START) {
    const ids = JSON.parse(value.toString('utf8')) as unknown
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
      throw new Error('seen ids: a JSON value that is not an array of ids')
    }
    let size = 1
    for (const id of ids as string[]) size += 5 + Buffer.byteLength(id, 'utf8')
    const out = Buffer.allocUnsafe(size)
    out[0] = FORMAT
    let at = 1
    for (const id of ids as string[]) at = encodeId(id, out, at)
    return out.subarray(0, at)
  }
  throw new Error(
    `seen ids: unknown value format (first byte ${value[0]}); this version reads format ${FORMAT}`,
  )
}

/**
 * The ids remembered, by the second (or bucket of event time) they were first seen in. An id is in one
 * bucket at a time: `remember` refuses an id already there.
 */
export class SeenIds {
  readonly #buckets = new Map<number, Bucket>()
  /** Buckets by handle, the number an entry keeps instead of the bucket itself. */
  readonly #byHandle: (Bucket | undefined)[] = []
  readonly #freeHandles: number[] = []

  /** The table: entry + 1, or 0 for an empty slot. Its size is a power of two. */
  #slots = new Int32Array(INITIAL_SLOTS)
  #entryHash = new Uint32Array(INITIAL_ENTRIES)
  #entryBucket = new Uint32Array(INITIAL_ENTRIES)
  #entryOffset = new Uint32Array(INITIAL_ENTRIES)
  #entryCount = 0
  #freeEntries: number[] = []

  #scratch = Buffer.allocUnsafeSlow(256)

  /** How many ids are remembered. */
  get size(): number {
    return this.#entryCount - this.#freeEntries.length
  }

  /** Whether `id` is remembered. */
  has(id: string): boolean {
    const end = this.#encode(id)
    return this.#find(hashBytes(this.#scratch, 0, end), this.#scratch, 0, end) >= 0
  }

  /**
   * Remembers `id` in the bucket starting at `start`, unless it is remembered already (then false:
   * a second copy).
   */
  remember(id: string, start: number): boolean {
    const end = this.#encode(id)
    const hash = hashBytes(this.#scratch, 0, end)
    const slot = this.#find(hash, this.#scratch, 0, end)
    if (slot >= 0) return false
    const bucket = this.#bucket(start)
    const offset = bucket.used
    this.#append(bucket, this.#scratch, end)
    this.#insert(~slot, hash, bucket.handle, offset)
    return true
  }

  /** The bucket's value for the store: a view valid as it is, since its bytes are only appended to. */
  value(start: number): Buffer | undefined {
    const bucket = this.#buckets.get(start)
    return bucket?.bytes.subarray(0, bucket.used)
  }

  /** The starts of the buckets held. */
  starts(): IterableIterator<number> {
    return this.#buckets.keys()
  }

  /** Restores a bucket from its stored value; an id remembered in another bucket stays there. */
  load(start: number, value: Buffer): void {
    const bytes = fromStored(value)
    const bucket = this.#bucket(start)
    const from = bucket.used
    this.#append(bucket, bytes.subarray(1), bytes.length - 1)
    for (let at = from; at < bucket.used; ) {
      const end = at + encodedLength(bucket.bytes, at)
      const hash = hashBytes(bucket.bytes, at, end)
      const slot = this.#find(hash, bucket.bytes, at, end)
      if (slot < 0) this.#insert(~slot, hash, bucket.handle, at)
      at = end
    }
  }

  /** Forgets the bucket starting at `start` and every id in it. */
  forget(start: number): void {
    const bucket = this.#buckets.get(start)
    if (bucket === undefined) return
    const bytes = bucket.bytes
    for (let at = 1; at < bucket.used; ) {
      const end = at + encodedLength(bytes, at)
      this.#remove(hashBytes(bytes, at, end), bucket.handle, at)
      at = end
    }
    this.#buckets.delete(start)
    this.#byHandle[bucket.handle] = undefined
    this.#freeHandles.push(bucket.handle)
    if (this.size * 8 < this.#slots.length && this.#slots.length > INITIAL_SLOTS) {
      this.#rehash(this.#slots.length / 2)
    }
  }

  /**
   * Gives back the room a bucket grew into but does not use, in the buckets more than `behindMs` older
   * than the newest: those no longer written to, unless events come that late.
   */
  trim(behindMs: number): void {
    let newest = Number.NEGATIVE_INFINITY
    for (const start of this.#buckets.keys()) if (start > newest) newest = start
    const before = newest - behindMs
    for (const bucket of this.#buckets.values()) {
      if (bucket.start >= before || bucket.bytes.length - bucket.used < bucket.used / 8) continue
      const bytes = Buffer.allocUnsafeSlow(bucket.used)
      bucket.bytes.copy(bytes, 0, 0, bucket.used)
      bucket.bytes = bytes
    }
  }

  #encode(id: string): number {
    const needed = 5 + 3 * id.length
    if (needed > this.#scratch.length) this.#scratch = Buffer.allocUnsafeSlow(needed * 2)
    return encodeId(id, this.#scratch, 0)
  }

  #bucket(start: number): Bucket {
    let bucket = this.#buckets.get(start)
    if (bucket === undefined) {
      const handle = this.#freeHandles.pop() ?? this.#byHandle.length
      const bytes = Buffer.allocUnsafeSlow(256)
      bytes[0] = FORMAT
      bucket = { start, handle, bytes, used: 1 }
      this.#buckets.set(start, bucket)
      this.#byHandle[handle] = bucket
    }
    return bucket
  }

  #append(bucket: Bucket, from: Buffer, length: number): void {
    const needed = bucket.used + length
    if (needed > bucket.bytes.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(needed, Math.ceil(bucket.bytes.length * 1.5)))
      bucket.bytes.copy(grown, 0, 0, bucket.used)
      bucket.bytes = grown
    }
    from.copy(bucket.bytes, bucket.used, 0, length)
    bucket.used = needed
  }

  /** The slot of the entry holding `bytes[from, to)`, or ~(the empty slot where it would go). */
  #find(hash: number, bytes: Buffer, from: number, to: number): number {
    const mask = this.#slots.length - 1
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const held = this.#slots[i] as number
      if (held === 0) return ~i
      const entry = held - 1
      if (this.#entryHash[entry] !== hash) continue
      const bucket = this.#byHandle[this.#entryBucket[entry] as number] as Bucket
      const at = this.#entryOffset[entry] as number
      if (encodedLength(bucket.bytes, at) !== to - from) continue
      if (bucket.bytes.compare(bytes, from, to, at, at + (to - from)) === 0) return i
    }
  }

  #insert(slot: number, hash: number, handle: number, offset: number): void {
    let entry = this.#freeEntries.pop() ?? NO_ENTRY
    if (entry === NO_ENTRY) {
      if (this.#entryCount === this.#entryHash.length) this.#growEntries()
      entry = this.#entryCount++
    }
    this.#entryHash[entry] = hash
    this.#entryBucket[entry] = handle
    this.#entryOffset[entry] = offset
    this.#slots[slot] = entry + 1
    if (this.size * 2 > this.#slots.length) this.#rehash(this.#slots.length * 2)
  }

  #remove(hash: number, handle: number, offset: number): void {
    const mask = this.#slots.length - 1
    let i = hash & mask
    for (; ; i = (i + 1) & mask) {
      const held = this.#slots[i] as number
      if (held === 0) return // an id kept in another bucket (see load)
      const entry = held - 1
      if (this.#entryBucket[entry] === handle && this.#entryOffset[entry] === offset) {
        this.#freeEntries.push(entry)
        break
      }
    }
    // Backward-shift deletion: move up every later entry of the run that may sit at or before the gap.
    this.#slots[i] = 0
    for (let j = (i + 1) & mask; this.#slots[j] !== 0; j = (j + 1) & mask) {
      const home = (this.#entryHash[(this.#slots[j] as number) - 1] as number) & mask
      const stays = i <= j ? home > i && home <= j : home > i || home <= j
      if (stays) continue
      this.#slots[i] = this.#slots[j] as number
      this.#slots[j] = 0
      i = j
    }
  }

  #growEntries(): void {
    const grow = (from: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> => {
      const to = new Uint32Array(from.length * 2)
      to.set(from)
      return to
    }
    this.#entryHash = grow(this.#entryHash)
    this.#entryBucket = grow(this.#entryBucket)
    this.#entryOffset = grow(this.#entryOffset)
  }

  #rehash(size: number): void {
    const old = this.#slots
    const slots = new Int32Array(size)
    const mask = size - 1
    for (const held of old) {
      if (held === 0) continue
      let i = (this.#entryHash[held - 1] as number) & mask
      while (slots[i] !== 0) i = (i + 1) & mask
      slots[i] = held
    }
    this.#slots = slots
  }
}
