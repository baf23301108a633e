// What a windowed aggregate processor must find again after a restart: its stream time (the largest
// timestamp it has seen, Kafka Streams' `observedStreamTime`) and, for emit final, the close time it has
// emitted up to (Kafka keeps `lastEmitWindowCloseTime` as processor metadata committed with the offsets).
// Here both ride in the window or session store's own changelog under a reserved key, written at each
// flush (so in the same commit as the store's records) and read back by restore: a restarted processor
// then judges lateness as before, and neither re-emits nor reopens a window.
// Layout: key = 0x00 "emit-close" (11 bytes: shorter than any window key, 12+ bytes, or session key,
// 16+ bytes, so it never collides); value = [stream time: int64 BE][emitted close time: int64 BE], where
// -2^53 stands for "none". A compacted changelog keeps the latest one.
const TWO_32 = 4294967296
const NONE = Number.MIN_SAFE_INTEGER

export const EMIT_CLOSE_MARKER_KEY: Buffer = Buffer.concat([Buffer.from([0]), Buffer.from('emit-close')])

export function isEmitCloseMarkerKey(key: Buffer): boolean {
  return key.equals(EMIT_CLOSE_MARKER_KEY)
}

function writeLong(out: Buffer, value: number, at: number): void {
  const high = Math.floor(value / TWO_32)
  out.writeInt32BE(high, at)
  out.writeUInt32BE(value - high * TWO_32, at + 4)
}

function readLong(bytes: Buffer, at: number): number {
  return bytes.readInt32BE(at) * TWO_32 + bytes.readUInt32BE(at + 4)
}

export class EmitCloseMarker {
  #streamTime: number | undefined
  #closeTime: number | undefined
  #dirty = false

  get streamTime(): number | undefined {
    return this.#streamTime
  }

  get closeTime(): number | undefined {
    return this.#closeTime
  }

  setStreamTime(streamTime: number): void {
    if (streamTime === this.#streamTime || !Number.isSafeInteger(streamTime)) return
    this.#streamTime = streamTime
    this.#dirty = true
  }

  setCloseTime(closeTime: number): void {
    if (closeTime === this.#closeTime || !Number.isSafeInteger(closeTime)) return
    this.#closeTime = closeTime
    this.#dirty = true
  }

  /** True once per change: the change-logging layer then logs encode(). */
  takeDirty(): boolean {
    const dirty = this.#dirty
    this.#dirty = false
    return dirty
  }

  encode(): Buffer {
    const out = Buffer.allocUnsafe(16)
    writeLong(out, this.#streamTime ?? NONE, 0)
    writeLong(out, this.#closeTime ?? NONE, 8)
    return out
  }

  restore(bytes: Buffer | null): void {
    const streamTime = bytes === null ? NONE : readLong(bytes, 0)
    const closeTime = bytes === null ? NONE : readLong(bytes, 8)
    this.#streamTime = streamTime === NONE ? undefined : streamTime
    this.#closeTime = closeTime === NONE ? undefined : closeTime
    this.#dirty = false
  }
}
