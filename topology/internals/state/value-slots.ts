// Numbered slots, each holding one serialized value, for the compact stores (window-compact-layer.ts,
// compact-key-value-store.ts): a slot is an index into typed arrays (the stores keep their own per-slot
// arrays beside these), and the values' bytes sit back to back in one arena.
// Bytes once written are never overwritten: a value written again is appended again, so a value
// deserialized earlier that keeps a view of its bytes (avsc's `bytes` does) stays intact. When the
// arena is full, the live values move to a new arena twice their size; the old one lives on while
// views of it do. Released slots are reused.

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

  /** Moves the live values into a new arena with room for twice them and `extra` bytes more. */
  #rewrite(extra: number): void {
    const arena = Buffer.allocUnsafe(Math.max(INITIAL_ARENA, 2 * (this.#liveBytes + extra)))
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
