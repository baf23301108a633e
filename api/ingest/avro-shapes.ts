// The Avro types of the event schemas as the HTTP API sees them: compiled once from the .avsc JSON
// (not from avsc's parsed types, which drop logicalType when no implementation is registered, and we
// need uuid and timestamp-millis), then used both to read a JSON value into the value avsc writes and
// to describe it as JSON Schema for the OpenAPI document. One tree, two views, so the documentation
// cannot drift from what the converter accepts.
//
// JSON -> avsc value: strings, booleans and numbers as they are (int in range, long a safe integer),
// timestamp-millis from an ISO-8601 time with a zone or epoch ms, enums by symbol, arrays and maps
// item by item, records field by field (unknown fields refused, fields with a default or a nullable
// type may be absent), ["null", X] unwrapped as avsc reads it. Any other Avro construct (bytes, fixed,
// other unions, other logical types) has no JSON mapping yet: compiling it throws, so a schema change
// that needs one fails at start and in the unit tests instead of posting wrong bytes.

/** One invalid field: where (`capabilities[1].name`) and what is wrong with it. */
export interface FieldProblem {
  field: string
  message: string
}

interface Documented {
  doc?: string
}

export type Shape =
  | ({ kind: 'string' | 'uuid' | 'int' | 'long' | 'float' | 'double' | 'boolean' | 'timestamp' } & Documented)
  | ({ kind: 'enum'; name: string; symbols: readonly string[] } & Documented)
  | ({ kind: 'array'; items: Shape } & Documented)
  | ({ kind: 'map'; values: Shape } & Documented)
  | ({ kind: 'nullable'; type: Shape } & Documented)
  | RecordShape

export interface RecordShape extends Documented {
  kind: 'record'
  /** Full Avro name, e.g. agent_party.events.AgentCreated. */
  name: string
  fields: FieldShape[]
}

export interface FieldShape extends Documented {
  name: string
  shape: Shape
  /** The Avro default, when the field has one (absent from the JSON: this value). */
  default?: { value: unknown }
}

/** Named types met so far, by full name; records are registered before their fields (self-reference). */
export type NamedShapes = Map<string, Shape>

const INT_MIN = -(2 ** 31)
const INT_MAX = 2 ** 31 - 1

/** A schema's record (or other named type) tree, resolving references through `named`. */
export function compileShape(schema: unknown, namespace: string, named: NamedShapes, where: string): Shape {
  if (typeof schema === 'string') return reference(schema, namespace, named, where)
  if (Array.isArray(schema)) {
    const branches = schema as unknown[]
    const others = branches.filter((b) => b !== 'null')
    if (branches.length === 2 && others.length === 1) {
      return { kind: 'nullable', type: compileShape(others[0], namespace, named, where) }
    }
    throw new TypeError(`${where}: a union other than ["null", X] has no JSON mapping`)
  }
  if (schema === null || typeof schema !== 'object') throw new TypeError(`${where}: not an Avro schema`)
  const s = schema as Record<string, unknown>
  const doc = typeof s.doc === 'string' ? { doc: s.doc } : {}
  const logical = s.logicalType
  if (logical === 'uuid' && s.type === 'string') return { kind: 'uuid', ...doc }
  if (logical === 'timestamp-millis' && s.type === 'long') return { kind: 'timestamp', ...doc }
  if (logical !== undefined)
    throw new TypeError(`${where}: logical type ${String(logical)} has no JSON mapping`)
  switch (s.type) {
    case 'record': {
      const { name, space } = fullName(s, namespace)
      const record: RecordShape = { kind: 'record', name, fields: [], ...doc }
      named.set(name, record)
      for (const field of s.fields as Record<string, unknown>[]) {
        const fieldName = field.name as string
        record.fields.push({
          name: fieldName,
          shape: compileShape(field.type, space, named, `${name}.${fieldName}`),
          ...(typeof field.doc === 'string' ? { doc: field.doc } : {}),
          ...('default' in field ? { default: { value: field.default } } : {}),
        })
      }
      return record
    }
    case 'enum': {
      const { name } = fullName(s, namespace)
      const shape: Shape = { kind: 'enum', name, symbols: s.symbols as string[], ...doc }
      named.set(name, shape)
      return shape
    }
    case 'array':
      return { kind: 'array', items: compileShape(s.items, namespace, named, `${where}[]`), ...doc }
    case 'map':
      return { kind: 'map', values: compileShape(s.values, namespace, named, `${where}{}`), ...doc }
    case 'fixed':
      throw new TypeError(`${where}: Avro type fixed has no JSON mapping`)
    default:
      if (typeof s.type === 'string' || Array.isArray(s.type)) {
        const shape = compileShape(s.type, namespace, named, where)
        return s.doc === undefined ? shape : { ...shape, ...doc }
      }
      throw new TypeError(`${where}: Avro type ${String(s.type)} has no JSON mapping`)
  }
}

function reference(name: string, namespace: string, named: NamedShapes, where: string): Shape {
  switch (name) {
    case 'string':
    case 'int':
    case 'long':
    case 'float':
    case 'double':
    case 'boolean':
      return { kind: name }
    case 'null':
    case 'bytes':
      throw new TypeError(`${where}: Avro type ${name} has no JSON mapping`)
  }
  const shape = named.get(name.includes('.') ? name : `${namespace}.${name}`) ?? named.get(name)
  if (shape === undefined) throw new TypeError(`${where}: unknown Avro type ${name}`)
  return shape
}

function fullName(s: Record<string, unknown>, namespace: string): { name: string; space: string } {
  const name = s.name as string
  if (name.includes('.')) return { name, space: name.slice(0, name.lastIndexOf('.')) }
  const space = typeof s.namespace === 'string' ? s.namespace : namespace
  return { name: space ? `${space}.${name}` : name, space }
}

/** Where a value sits, as the 400 answer names it: `members[0].role`, `tokens_used["agent-1"]`. */
export function childPath(path: string, child: string | number): string {
  if (typeof child === 'number') return `${path}[${child}]`
  return path === '' ? child : `${path}.${child}`
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The value avsc writes for `value` read as `shape`, or undefined with the problems pushed. Every
 * problem is reported, not only the first.
 */
export function readJson(shape: Shape, value: unknown, path: string, problems: FieldProblem[]): unknown {
  const bad = (message: string) => {
    problems.push({ field: path, message })
    return undefined
  }
  switch (shape.kind) {
    case 'string':
      return typeof value === 'string' ? value : bad('expected a string')
    case 'uuid':
      return typeof value === 'string' && UUID.test(value) ? value.toLowerCase() : bad('expected a UUID')
    case 'boolean':
      return typeof value === 'boolean' ? value : bad('expected a boolean')
    case 'int':
      return Number.isInteger(value) && (value as number) >= INT_MIN && (value as number) <= INT_MAX
        ? value
        : bad(`expected an integer from ${INT_MIN} to ${INT_MAX}`)
    case 'long':
      return Number.isInteger(value) && Math.abs(value as number) <= MAX_AVRO_LONG
        ? value
        : bad(`expected an integer from ${-MAX_AVRO_LONG} to ${MAX_AVRO_LONG}`)
    case 'float':
    case 'double':
      return typeof value === 'number' && Number.isFinite(value) ? value : bad('expected a number')
    case 'timestamp': {
      const ms = timestampMillis(value)
      return ms === undefined ? bad('not an ISO-8601 time or epoch ms') : ms
    }
    case 'enum':
      return typeof value === 'string' && shape.symbols.includes(value)
        ? value
        : bad(`not one of ${shape.symbols.join(', ')}`)
    case 'nullable': {
      if (value === null) return null
      const inner: FieldProblem[] = []
      const read = readJson(shape.type, value, path, inner)
      // A wrong type at the field itself: say that null would do too.
      for (const p of inner) problems.push(p.field === path ? { ...p, message: `${p.message} or null` } : p)
      return read
    }
    case 'array': {
      if (!Array.isArray(value)) return bad('expected an array')
      const before = problems.length
      const items = value.map((item, i) => readJson(shape.items, item, childPath(path, i), problems))
      return problems.length === before ? items : undefined
    }
    case 'map': {
      if (!isJsonObject(value)) return bad('expected an object')
      const before = problems.length
      // fromEntries defines own properties: a key named __proto__ stays a key.
      const entries = Object.entries(value).map(([k, v]) => [
        k,
        readJson(shape.values, v, `${path}[${JSON.stringify(k)}]`, problems),
      ])
      return problems.length === before ? Object.fromEntries(entries) : undefined
    }
    case 'record': {
      if (!isJsonObject(value)) return bad('expected an object')
      return readFields(shape.fields, value, path, problems)
    }
  }
}

/** The fields of a record read from `source`; keys that are no field of it are unknown fields. */
export function readFields(
  fields: readonly FieldShape[],
  source: Record<string, unknown>,
  path: string,
  problems: FieldProblem[],
): Record<string, unknown> | undefined {
  const before = problems.length
  const out: Record<string, unknown> = {}
  for (const field of fields) {
    const at = childPath(path, field.name)
    if (!Object.hasOwn(source, field.name) || source[field.name] === undefined) {
      if (field.default) out[field.name] = structuredClone(field.default.value)
      else if (field.shape.kind === 'nullable') out[field.name] = null
      else problems.push({ field: at, message: 'required' })
      continue
    }
    out[field.name] = readJson(field.shape, source[field.name], at, problems)
  }
  const known = new Set(fields.map((f) => f.name))
  for (const key of Object.keys(source)) {
    if (!known.has(key)) problems.push({ field: childPath(path, key), message: 'unknown field' })
  }
  return problems.length === before ? out : undefined
}

/** A field is optional in JSON when it has a default or null will do. */
export function isOptional(field: FieldShape): boolean {
  return field.default !== undefined || field.shape.kind === 'nullable'
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

// A date and a time with seconds and fraction optional and a zone required: a time without one
// would be read in the server's zone, which is nobody's intent.
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/

const MAX_EPOCH_MS = 8.64e15

/** The largest long avsc writes from a JavaScript number (its safe range is one short of 2^53 - 1). */
export const MAX_AVRO_LONG = 2 ** 53 - 2

/** Epoch milliseconds of an ISO-8601 time with a zone, or of an epoch-ms integer; undefined if neither. */
export function timestampMillis(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isInteger(value) && Math.abs(value) <= MAX_EPOCH_MS ? value : undefined
  }
  if (typeof value !== 'string') return undefined
  const m = ISO_8601.exec(value)
  if (!m) return undefined
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((s) => Number(s ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  const offsetHours = Number(m[10] ?? 0)
  const offsetMins = Number(m[11] ?? 0)
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysIn(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    offsetHours > 23 ||
    offsetMins > 59
  ) {
    return undefined
  }
  const fraction = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3))
  const offset = m[8] ? 0 : (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins)
  // Date.UTC reads years 0..99 as 1900..1999: set the full year separately.
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, fraction))
  const ms = date.setUTCFullYear(year) - offset * 60_000
  return Math.abs(ms) <= MAX_EPOCH_MS ? ms : undefined
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28
  return [4, 6, 9, 11].includes(month) ? 30 : 31
}
