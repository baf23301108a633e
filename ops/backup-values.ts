// The JSON form of Neo4j property values in a graph backup (ops/backup.ts), exact in both directions:
// what restore writes back has the same Cypher type and value as what was read. JSON alone cannot
// tell an Integer from a Float, nor carry temporal, spatial or byte values, so everything that is not
// a string, a boolean or a finite Float is a one-key object naming its type. Property values are
// never maps in Neo4j, so an object in a backup is always one of these tags:
//
//   "text", true                     String, Boolean
//   1.5                              Float (finite, not -0)
//   {"f": "NaN"|"Infinity"|"-Infinity"|"-0"}   the other Floats
//   {"i": "9007199254740993"}        Integer (64-bit, as a decimal string)
//   {"b": "<base64>"}                ByteArray
//   {"date": [y, m, d]}
//   {"localtime": [h, m, s, ns]}
//   {"time": [h, m, s, ns, offsetSeconds]}
//   {"localdatetime": [y, m, d, h, mi, s, ns]}
//   {"datetime": [y, m, d, h, mi, s, ns, offsetSeconds | null, zoneId | null]}
//   {"duration": ["months", "days", "seconds", "nanoseconds"]}   (decimal strings: 64-bit)
//   {"point": [srid, x, y]} or {"point": [srid, x, y, z]}
//   [ ... ]                          a List, each element in this form
//
// Reading needs a driver with lossless integers (the default; the sinks' driver turns them off).
import neo4j, {
  Date as CypherDate,
  DateTime,
  Duration,
  Integer,
  LocalDateTime,
  LocalTime,
  Point,
  Time,
} from 'neo4j-driver'

export type EncodedValue = string | boolean | number | EncodedValue[] | { [tag: string]: unknown }

export type EncodedProperties = Record<string, EncodedValue>

export class BackupValueError extends Error {
  readonly code = 'BACKUP_VALUE'
  constructor(message: string) {
    super(message)
    this.name = 'BackupValueError'
  }
}

const num = (x: unknown): number => (Integer.isInteger(x) ? (x as Integer).toNumber() : Number(x))
const str = (x: unknown): string => (Integer.isInteger(x) ? (x as Integer).toString() : String(x))

/** One property value as read from the driver (lossless integers) to its JSON form. */
export function encodeValue(value: unknown): EncodedValue {
  if (typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') {
    if (Number.isFinite(value) && !Object.is(value, -0)) return value
    return { f: Object.is(value, -0) ? '-0' : String(value) }
  }
  if (typeof value === 'bigint') return { i: value.toString() }
  if (Integer.isInteger(value)) return { i: (value as Integer).toString() }
  if (Array.isArray(value)) return value.map(encodeValue)
  if (value instanceof Int8Array || value instanceof Uint8Array)
    return { b: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  if (neo4j.isDateTime(value)) {
    const v = value as DateTime
    return {
      datetime: [
        num(v.year),
        num(v.month),
        num(v.day),
        num(v.hour),
        num(v.minute),
        num(v.second),
        num(v.nanosecond),
        v.timeZoneOffsetSeconds === undefined || v.timeZoneOffsetSeconds === null
          ? null
          : num(v.timeZoneOffsetSeconds),
        v.timeZoneId ?? null,
      ],
    }
  }
  if (neo4j.isLocalDateTime(value)) {
    const v = value as LocalDateTime
    return {
      localdatetime: [v.year, v.month, v.day, v.hour, v.minute, v.second, v.nanosecond].map(num),
    }
  }
  if (neo4j.isDate(value)) {
    const v = value as CypherDate
    return { date: [num(v.year), num(v.month), num(v.day)] }
  }
  if (neo4j.isTime(value)) {
    const v = value as Time
    return { time: [v.hour, v.minute, v.second, v.nanosecond, v.timeZoneOffsetSeconds].map(num) }
  }
  if (neo4j.isLocalTime(value)) {
    const v = value as LocalTime
    return { localtime: [v.hour, v.minute, v.second, v.nanosecond].map(num) }
  }
  if (neo4j.isDuration(value)) {
    const v = value as Duration
    return { duration: [v.months, v.days, v.seconds, v.nanoseconds].map(str) }
  }
  if (neo4j.isPoint(value)) {
    const v = value as Point
    const xyz = [num(v.srid), num(v.x), num(v.y)]
    return { point: v.z === undefined || v.z === null ? xyz : [...xyz, num(v.z)] }
  }
  throw new BackupValueError(`a property value of an unsupported type: ${describe(value)}`)
}

export function encodeProperties(properties: Record<string, unknown>): EncodedProperties {
  const out: EncodedProperties = {}
  for (const [key, value] of Object.entries(properties)) {
    try {
      out[key] = encodeValue(value)
    } catch (error) {
      if (error instanceof BackupValueError) throw new BackupValueError(`property ${key}: ${error.message}`)
      throw error
    }
  }
  return out
}

const FLOATS: Record<string, number> = {
  NaN: Number.NaN,
  Infinity: Infinity,
  '-Infinity': -Infinity,
  '-0': -0,
}

/** The JSON form back to a value the driver sends with the original Cypher type. */
export function decodeValue(value: unknown): unknown {
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') return value
  if (Array.isArray(value)) return value.map(decodeValue)
  if (typeof value !== 'object' || value === null)
    throw new BackupValueError(`not a backup value: ${describe(value)}`)
  const entries = Object.entries(value)
  const [tag, body] = entries[0] ?? []
  if (entries.length !== 1 || tag === undefined)
    throw new BackupValueError(`not a backup value: ${JSON.stringify(value)}`)
  const list = (n: number[]) => {
    if (!Array.isArray(body) || !n.includes(body.length))
      throw new BackupValueError(
        `${tag}: expected a list of ${n.join(' or ')} items, got ${JSON.stringify(body)}`,
      )
    return body as unknown[]
  }
  const ints = (xs: unknown[]) => xs.map((x) => Number(x))
  switch (tag) {
    case 'i':
      if (typeof body !== 'string' || !/^-?\d+$/.test(body))
        throw new BackupValueError(`i: not an integer: ${body}`)
      return neo4j.int(body)
    case 'f': {
      const f = FLOATS[String(body)]
      if (f === undefined) throw new BackupValueError(`f: not a special float: ${String(body)}`)
      return f
    }
    case 'b':
      if (typeof body !== 'string') throw new BackupValueError('b: not base64')
      return Int8Array.from(Buffer.from(body, 'base64'), (byte) => (byte << 24) >> 24)
    case 'date': {
      const [y, m, d] = ints(list([3]))
      return new CypherDate(y as number, m as number, d as number)
    }
    case 'localtime': {
      const [h, mi, s, ns] = ints(list([4]))
      return new LocalTime(h as number, mi as number, s as number, ns as number)
    }
    case 'time': {
      const [h, mi, s, ns, off] = ints(list([5]))
      return new Time(h as number, mi as number, s as number, ns as number, off as number)
    }
    case 'localdatetime': {
      const [y, mo, d, h, mi, s, ns] = ints(list([7]))
      return new LocalDateTime(
        y as number,
        mo as number,
        d as number,
        h as number,
        mi as number,
        s as number,
        ns as number,
      )
    }
    case 'datetime': {
      const items = list([9])
      const [y, mo, d, h, mi, s, ns] = ints(items.slice(0, 7))
      const offset = items[7] === null ? undefined : Number(items[7])
      const zone = items[8] === null ? undefined : String(items[8])
      return new DateTime(
        y as number,
        mo as number,
        d as number,
        h as number,
        mi as number,
        s as number,
        ns as number,
        offset,
        zone,
      )
    }
    case 'duration': {
      const [months, days, seconds, nanos] = list([4]).map((x) => neo4j.int(String(x)))
      return new Duration(months as Integer, days as Integer, seconds as Integer, nanos as Integer)
    }
    case 'point': {
      const [srid, x, y, z] = list([3, 4]).map(Number)
      return new Point(srid as number, x as number, y as number, z)
    }
    default:
      throw new BackupValueError(`unknown value tag ${tag}`)
  }
}

export function decodeProperties(properties: unknown): Record<string, unknown> {
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties))
    throw new BackupValueError('properties are not an object')
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(properties)) out[key] = decodeValue(value)
  return out
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value !== 'object') return typeof value
  return (value as object).constructor?.name ?? 'object'
}
