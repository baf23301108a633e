// Numbered slots, each holding one value, for the in-memory stores (window-in-memory-layer.ts,
// in-memory-key-value-store.ts): a slot is an index into typed arrays (the stores keep their own per-slot
// arrays beside these). Serialized values' bytes sit back to back in one arena (ValueSlots).
// Bytes once written are never overwritten: a value written again is appended again, so a value
// deserialized earlier that keeps a view of its bytes (avsc's `bytes` does) stays intact. When the
// arena is full, the live values move to a new arena half as big again; the old one lives on while
// views of it do. Released slots are reused.

import type { Serde } from '../../serdes.js'
import { estimateSize } from './size-estimate.js'
import { ARRAY_SLOT_BYTES, sampledBytes } from './store-bytes.js'

/** The end of the free list (#at is unsigned). */
const NONE = 0xffffffff
const INITIAL_SLOTS = 64
const INITIAL_ARENA = 4096

export class ValueSlots {
  #at = new Uint32Array(INITIAL_SLOTS)
  #length = new Uint32Array(INITIAL_SLOTS)
  /** 1 while a slot holds a value; a free slot's #at links the free list instead. */
  #inUse = new Uint8Array(INITIAL_SLOTS)
  #highWater = 0
  #free = NONE
  #arena = Buffer.allocUnsafe(INITIAL_ARENA)
  #arenaUsed = 0
  #liveBytes = 0

  /** How many slots the per-slot arrays must hold: grows (doubling) as slots are allocated. */
  get capacity(): number {
    return this.#inUse.length
  }

  /** The arena and the per-slot arrays. */
  get bytes(): number {
    return this.#arena.length + this.#at.byteLength + this.#length.byteLength + this.#inUse.byteLength
  }

  /** A slot holding `bytes`. */
  allocate(bytes: Buffer): number {
    let slot = this.#free
    if (slot !== NONE) this.#free = this.#at[slot] as number
    else {
      if (this.#highWater === this.#inUse.length) this.#grow(this.#highWater * 2)
      slot = this.#highWater++
    }
    this.#inUse[slot] = 1
    this.#length[slot] = 0
    this.set(slot, bytes)
    return slot
  }

  set(slot: number, bytes: Buffer): void {
    const length = bytes.length
    this.#liveBytes -= this.#length[slot] as number
    this.#length[slot] = 0 // its old bytes are not moved if the arena is rewritten below
    if (this.#arenaUsed + length > this.#arena.length) this.#rewrite(length)
    bytes.copy(this.#arena, this.#arenaUsed)
    this.#at[slot] = this.#arenaUsed
    this.#length[slot] = length
    this.#arenaUsed += length
    this.#liveBytes += length
  }

  /** The slot's bytes, as a view: valid for as long as the caller keeps it (see the top). */
  view(slot: number): Buffer {
    const at = this.#at[slot] as number
    return this.#arena.subarray(at, at + (this.#length[slot] as number))
  }

  release(slot: number): void {
    this.#liveBytes -= this.#length[slot] as number
    this.#length[slot] = 0
    this.#inUse[slot] = 0
    this.#at[slot] = this.#free
    this.#free = slot
  }

  clear(): void {
    this.#inUse.fill(0)
    this.#highWater = 0
    this.#free = NONE
    this.#arenaUsed = 0
    this.#liveBytes = 0
  }

  /**
   * Moves the live values into a new arena of 1.5 times them and `extra` bytes: the next rewrite comes
   * after half as many bytes again are written, so each byte written is copied twice at most, while the
   * arena holds at most half as many dead bytes as live ones (twice would hold as many).
   */
  #rewrite(extra: number): void {
    const needed = this.#liveBytes + extra
    const arena = Buffer.allocUnsafe(Math.max(INITIAL_ARENA, needed + (needed >>> 1)))
    let used = 0
    for (let s = 0; s < this.#highWater; s++) {
      const length = this.#length[s] as number
      if (this.#inUse[s] === 0 || length === 0) continue
      const at = this.#at[s] as number
      this.#arena.copy(arena, used, at, at + length)
      this.#at[s] = used
      used += length
    }
    this.#arena = arena
    this.#arenaUsed = used
  }

  #grow(capacity: number): void {
    this.#at = grown(this.#at, new Uint32Array(capacity))
    this.#length = grown(this.#length, new Uint32Array(capacity))
    this.#inUse = grown(this.#inUse, new Uint8Array(capacity))
  }
}

export function grown<T extends Float64Array | Int32Array | Uint32Array | Uint8Array>(from: T, to: T): T {
  to.set(from)
  return to
}

/**
 * How an in-memory store keeps its values, each in a numbered slot: serialized (SerializedValues, for
 * every store with a value serde) or as the objects themselves (ObjectValues, for a store without one).
 * `S` is what is stored for a value: its bytes, or the value.
 */
export interface SlotValues<V, S> {
  /** How many slots the store's per-slot arrays must hold: grows as slots are allocated. */
  readonly capacity: number
  /** The bytes of the last value prepared, when values are kept serialized; undefined otherwise. */
  readonly lastPutBytes: Buffer | null | undefined
  /** What to store for a value, or null when it is a delete (a serializer that writes null). */
  prepare(value: V): S | null
  allocate(stored: S): number
  set(slot: number, stored: S): void
  read(slot: number): V
  release(slot: number): void
  clear(): void
  /** An estimate of the memory the values take (store-bytes.ts). */
  approximateBytes(): number
}

/**
 * Values kept serialized. Each read deserializes, as Kafka Streams' byte stores do. A value whose
 * serializer returns null is a delete, as its changelog tombstone restores it.
 */
export class SerializedValues<V> implements SlotValues<V, Buffer> {
  readonly #slots = new ValueSlots()
  lastPutBytes: Buffer | null = null

  constructor(
    private readonly serde: Serde<V>,
    private readonly topic: string,
  ) {}

  get capacity(): number {
    return this.#slots.capacity
  }

  prepare(value: V): Buffer | null {
    this.lastPutBytes = this.serde.serialize(this.topic, value)
    return this.lastPutBytes
  }

  allocate(stored: Buffer): number {
    return this.#slots.allocate(stored)
  }

  set(slot: number, stored: Buffer): void {
    this.#slots.set(slot, stored)
  }

  read(slot: number): V {
    return this.serde.deserialize(this.topic, this.#slots.view(slot))
  }

  release(slot: number): void {
    this.#slots.release(slot)
  }

  clear(): void {
    this.#slots.clear()
  }

  approximateBytes(): number {
    return this.#slots.bytes
  }
}

/** Values kept as the objects they are (a store without a value serde): a read returns what was put. */
export class ObjectValues<V> implements SlotValues<V, V> {
  #values: Array<V | undefined> = new Array(INITIAL_SLOTS)
  #free: number[] = []
  #highWater = 0
  readonly lastPutBytes = undefined

  get capacity(): number {
    return this.#values.length
  }

  prepare(value: V): V {
    return value
  }

  allocate(stored: V): number {
    let slot = this.#free.pop()
    if (slot === undefined) {
      if (this.#highWater === this.#values.length) this.#values.length *= 2
      slot = this.#highWater++
    }
    this.#values[slot] = stored
    return slot
  }

  set(slot: number, stored: V): void {
    this.#values[slot] = stored
  }

  read(slot: number): V {
    return this.#values[slot] as V
  }

  release(slot: number): void {
    this.#values[slot] = undefined
    this.#free.push(slot)
  }

  clear(): void {
    this.#values = new Array(INITIAL_SLOTS)
    this.#free = []
    this.#highWater = 0
  }

  approximateBytes(): number {
    const inUse = this.#highWater - this.#free.length
    return (
      ARRAY_SLOT_BYTES * (this.#values.length + this.#free.length) +
      sampledBytes(this.#inUseValues(), inUse, (v) => estimateSize(v))
    )
  }

  *#inUseValues(): Generator<V> {
    for (let s = 0; s < this.#highWater; s++) if (this.#values[s] !== undefined) yield this.#values[s] as V
  }
}
