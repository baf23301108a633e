// Every avsc type of the project is built here (schema-catalog's parseSchemaText calls `avroType`), so
// that arrays and maps read from corrupt or crafted bytes fail fast instead of hanging the process.
//
// avsc reads an array or map block by looping over its item count, a zigzag varint up to 2^53, and an
// item read past the end of the buffer advances little or not at all: a 15-byte body declaring 2^52
// capabilities loops (and allocates) for hours before avsc notices the body is short. Here arrays and
// maps are subclasses whose reads (and skips, which resolvers use for fields the reader drops) first
// check the count against the bytes left: every item of an array whose items need at least one byte,
// and every map entry (its key's length), takes at least one byte, so a count above the bytes left
// cannot be valid and throws TRUNCATED at once. Items that encode to zero bytes (null, fixed of size
// 0, records made only of those) prove nothing about the bytes left: such collections are capped at
// MAX_ZERO_SIZE_ITEMS items instead (MALFORMED_BODY beyond). A negative block count (the block-size
// form) is checked the same way, and when skipped, its byte size must be neither negative (which
// would move the read position back, looping forever) nor beyond the end.
//
// The hot path pays one comparison per block; the minimum encoded size of an item type is computed
// only when a count exceeds the bytes left, once per type or resolver.
//
// Strings and bytes need no help: avsc moves past a declared length without allocating when it
// exceeds the buffer (the decode then reports the truncation) and invalidates on a negative one.
import avsc, { type Schema, type Type, type types } from 'avsc'

/** Most items of a zero-size type (e.g. `null`) one array may hold: nothing in the bytes bounds them. */
export const MAX_ZERO_SIZE_ITEMS = 1 << 20

export type AvroBodyErrorCode = 'TRUNCATED' | 'MALFORMED_BODY'

/** Thrown while reading an Avro body that cannot be valid; decodeBody makes it a DecodeError. */
export class AvroBodyError extends Error {
  readonly code: AvroBodyErrorCode

  constructor(code: AvroBodyErrorCode, message: string) {
    super(message)
    this.name = 'AvroBodyError'
    this.code = code
  }
}

/** avsc's read cursor (lib/utils.js `Tap`): the members the bounded reads use. */
interface Tap {
  buf: Buffer
  pos: number
  readLong(): number
  skipLong(): void
  readString(): string
  skipString(): void
}

/** What reads one item: a Type, or an avsc resolver (only `_read`) when reading another writer's data. */
interface ItemReader {
  _read(tap: Tap): unknown
  _skip(tap: Tap): void
}

/** avsc's internal resolver-building hook of a type (`Type.prototype._update`). */
type Update = (resolver: { _read: unknown }, writer: Type, opts: unknown) => void

/**
 * The least number of bytes an item of the collection read by `owner` (a type, or a resolver, whose
 * writer's item type counts) encodes to. Resolvers are filled in when built; types on first need.
 */
const itemFloors = new WeakMap<object, number>()

function itemFloor(owner: object, items: unknown): number {
  let floor = itemFloors.get(owner)
  if (floor === undefined) {
    floor = avsc.Type.isType(items) ? minEncodedSize(items as Type) : 0
    itemFloors.set(owner, floor)
  }
  return floor
}

/** The least number of bytes a value of `type` encodes to in Avro binary. */
export function minEncodedSize(type: Type, visiting: Set<Type> = new Set()): number {
  const name = type.typeName
  switch (name) {
    case 'null':
      return 0
    case 'float':
      return 4
    case 'double':
      return 8
    case 'fixed':
      return (type as types.FixedType).size
    case 'record':
    case 'error': {
      // A record reached again through itself adds nothing more that is certain.
      if (visiting.has(type)) return 0
      visiting.add(type)
      let size = 0
      for (const field of (type as types.RecordType).fields) size += minEncodedSize(field.type, visiting)
      visiting.delete(type)
      return size
    }
    default:
      if (name.startsWith('logical:')) {
        return minEncodedSize((type as types.LogicalType).underlyingType, visiting)
      }
      // boolean, int, long, string, bytes, enum, unions (the branch index), arrays and maps (the
      // terminating zero count), abstract longs: at least one byte.
      return 1
  }
}

/**
 * Called when a block declares more items than bytes are left (or an unreadable count): throws unless
 * the items encode to zero bytes and the collection stays under MAX_ZERO_SIZE_ITEMS.
 */
function checkOversizedBlock(owner: object, items: unknown, tap: Tap, count: number, before: number): void {
  const left = tap.buf.length - tap.pos
  const floor = itemFloor(owner, items)
  if (floor > 0 || !(count >= 0)) {
    throw new AvroBodyError(
      'TRUNCATED',
      `a block declares ${count} items of at least ${floor} byte(s) each, but ${Math.max(left, 0)} bytes are left`,
    )
  }
  if (before + count > MAX_ZERO_SIZE_ITEMS) {
    throw new AvroBodyError(
      'MALFORMED_BODY',
      `an array declares ${before + count} items of a zero-size type (at most ${MAX_ZERO_SIZE_ITEMS})`,
    )
  }
}

function tooManyEntries(tap: Tap, count: number): never {
  const left = tap.buf.length - tap.pos
  throw new AvroBodyError(
    'TRUNCATED',
    `a map block declares ${count} entries of at least 1 byte each, but ${Math.max(left, 0)} bytes are left`,
  )
}

/** Skips a block written in the block-size form (negative count, then its size in bytes). */
function skipSizedBlock(tap: Tap): void {
  const size = tap.readLong()
  if (!(size >= 0)) throw new AvroBodyError('MALFORMED_BODY', `a block declares a negative size (${size})`)
  if (size > tap.buf.length - tap.pos) {
    throw new AvroBodyError(
      'TRUNCATED',
      `a block declares ${size} bytes, but ${Math.max(tap.buf.length - tap.pos, 0)} are left`,
    )
  }
  tap.pos += size
}

const arrayUpdate = (avsc.types.ArrayType.prototype as unknown as { _update: Update })._update

class BoundedArrayType extends avsc.types.ArrayType {
  // `this` is the type, or a resolver built by _update (then `itemsType` is the items' resolver).
  _read(tap: Tap): unknown[] {
    const items = this.itemsType as unknown as ItemReader
    let value: unknown[] | undefined
    let i = 0
    let n: number
    // biome-ignore lint/suspicious/noAssignInExpressions: avsc's own loop, kept as fast
    while ((n = tap.readLong())) {
      if (n < 0) {
        n = -n
        tap.skipLong() // the block's size in bytes
      }
      if (!(n <= tap.buf.length - tap.pos)) checkOversizedBlock(this, items, tap, n, i)
      value ??= new Array(n)
      while (n--) value[i++] = items._read(tap)
    }
    return value ?? []
  }

  _skip(tap: Tap): void {
    const items = this.itemsType as unknown as ItemReader
    let skipped = 0
    let n: number
    // biome-ignore lint/suspicious/noAssignInExpressions: avsc's own loop
    while ((n = tap.readLong())) {
      if (n < 0) {
        skipSizedBlock(tap)
        continue
      }
      if (!(n <= tap.buf.length - tap.pos)) checkOversizedBlock(this, items, tap, n, skipped)
      skipped += n
      while (n--) items._skip(tap)
    }
  }

  _update(resolver: { _read: unknown }, writer: Type, opts: unknown): void {
    arrayUpdate.call(this, resolver, writer, opts)
    if (resolver._read) itemFloors.set(resolver, minEncodedSize((writer as types.ArrayType).itemsType))
  }
}

class BoundedMapType extends avsc.types.MapType {
  // Every entry starts with its key's length: at least one byte, whatever the values.
  _read(tap: Tap): Record<string, unknown> {
    const values = this.valuesType as ItemReader
    const value: Record<string, unknown> = {}
    let n: number
    // biome-ignore lint/suspicious/noAssignInExpressions: avsc's own loop
    while ((n = tap.readLong())) {
      if (n < 0) {
        n = -n
        tap.skipLong()
      }
      if (!(n <= tap.buf.length - tap.pos)) tooManyEntries(tap, n)
      while (n--) {
        const key = tap.readString()
        value[key] = values._read(tap)
      }
    }
    return value
  }

  _skip(tap: Tap): void {
    const values = this.valuesType as ItemReader
    let n: number
    // biome-ignore lint/suspicious/noAssignInExpressions: avsc's own loop
    while ((n = tap.readLong())) {
      if (n < 0) {
        skipSizedBlock(tap)
        continue
      }
      if (!(n <= tap.buf.length - tap.pos)) tooManyEntries(tap, n)
      while (n--) {
        tap.skipString()
        values._skip(tap)
      }
    }
  }
}

function boundedCollections(schema: Schema, opts: unknown): Type | undefined {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return undefined
  const { type } = schema as { type?: unknown }
  if (type === 'array') return new BoundedArrayType(schema, opts)
  if (type === 'map') return new BoundedMapType(schema, opts)
  return undefined
}

/** avsc's `Type.forSchema`, with arrays and maps that refuse impossible item counts. */
export function avroType(schema: Schema): Type {
  return avsc.Type.forSchema(schema, { typeHook: boundedCollections })
}
