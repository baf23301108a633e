// A cheap estimate of the heap bytes of a cached key or value, for the cache's byte budget. It walks at
// most a few levels and samples long arrays: the budget needs the order of magnitude, not the byte.
import type { KeyId } from './key-id.js'

const MAX_DEPTH = 3
const ARRAY_SAMPLE = 8

export function estimateSize(value: unknown, depth = 0): number {
  switch (typeof value) {
    case 'number':
    case 'boolean':
    case 'undefined':
      return 8
    case 'bigint':
      return 16
    case 'string':
      return 16 + 2 * value.length
    case 'object':
      return value === null ? 8 : estimateObject(value, depth)
    default:
      return 16
  }
}

function estimateObject(value: object, depth: number): number {
  if (Buffer.isBuffer(value)) return 32 + value.length
  if (depth >= MAX_DEPTH) return 64
  if (Array.isArray(value)) {
    const n = value.length
    if (n === 0) return 32
    const sample = Math.min(n, ARRAY_SAMPLE)
    let sum = 0
    for (let i = 0; i < sample; i++) sum += estimateSize(value[i], depth + 1)
    return 32 + 8 * n + (sum / sample) * n
  }
  let size = 32
  for (const key in value)
    size += 8 + 2 * key.length + estimateSize((value as Record<string, unknown>)[key], depth + 1)
  return size
}

/** What a cache entry counts against the byte budget: its value, its key id and the entry's own `overhead`. */
export function estimateEntry(id: KeyId, value: unknown, overhead: number): number {
  return estimateSize(value) + (typeof id === 'string' ? 2 * id.length : 8) + overhead
}

/**
 * Whether an overwrite of a cached entry needs a new estimate: when a tombstone comes or goes, and at
 * every RE_ESTIMATE_EVERY-th overwrite. An entry's value keeps its shape from one update to the next
 * (a count, a sketch, an entity snapshot), and walking it on every put was 5% of a busy instance's
 * time (P8); a value that grows is re-measured within a few updates.
 */
export function reEstimate(writes: number, previous: unknown, next: unknown): boolean {
  return writes % RE_ESTIMATE_EVERY === 0 || (previous === null) !== (next === null)
}

const RE_ESTIMATE_EVERY = 8
