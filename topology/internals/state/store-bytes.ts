// An estimate of the memory an in-memory store holds (the state_store_bytes metric, P8's figures per
// entity): its typed arrays and byte arena exactly, and per key a Map entry and the key, the keys' size
// averaged over a sample. Objects a store keeps unserialized are estimated as the cache estimates them
// (size-estimate.ts), over a sample too: reading a store's size must not walk the whole store.
import { estimateSize } from './size-estimate.js'

/** A Map entry in V8: key, value and chain link, plus its bucket, at the table's load. */
export const MAP_ENTRY_BYTES = 40
/** An element of a plain array (a pointer). */
export const ARRAY_SLOT_BYTES = 8
const SAMPLE = 32

/** A primitive as V8 keeps it: small integers in the pointer, strings as a header and one byte per Latin-1 character. */
export function primitiveBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return 16 + ((value.length + 7) & ~7)
    case 'number':
      return Number.isInteger(value) && Math.abs(value) < 2 ** 31 ? 0 : 16
    case 'boolean':
    case 'undefined':
      return 0
    case 'bigint':
      return 24
    default:
      return value === null ? 0 : estimateSize(value)
  }
}

/** `count` times the average size of the first values `values` yields (at most 32 of them). */
export function sampledBytes(values: Iterable<unknown>, count: number, size = primitiveBytes): number {
  if (count === 0) return 0
  let n = 0
  let sum = 0
  for (const v of values) {
    sum += size(v)
    if (++n === SAMPLE) break
  }
  return n === 0 ? 0 : Math.round((sum / n) * count)
}

/**
 * The structured keys a store keeps beside their ids (`count` of them, sampled from `keys()`), or 0 for
 * primitive keys, which are their own ids and already counted with the Map. A store's keys are all of
 * one kind, so the first tells.
 */
export function structuredKeyBytes(keys: () => Iterable<unknown>, count: number): number {
  const first = keys()[Symbol.iterator]().next()
  const structured = first.done !== true && typeof first.value === 'object' && first.value !== null
  return structured ? sampledBytes(keys(), count) : 0
}

/** The Map's entries and its keys. */
export function mapBytes(map: ReadonlyMap<unknown, unknown>): number {
  return map.size * MAP_ENTRY_BYTES + sampledBytes(map.keys(), map.size)
}
