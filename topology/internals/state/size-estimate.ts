// A cheap estimate of the heap bytes of a cached key or value, for the cache's byte budget. It walks at
// most a few levels and samples long arrays: the budget needs the order of magnitude, not the byte.
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
