// How an output value is laid out in a Redis hash, and read back: one hash field per Avro field.
//   null                 -> no field (a missing field reads back as null)
//   long, int, double    -> the number in decimal (String(n))
//   boolean              -> `true` / `false`
//   string, enum         -> the string itself
//   array, map, record   -> JSON
// Reading is driven by the output's Avro schema (schemas/avro/outputs/), so the API gets the same
// object the processors emitted.
import { OUTPUTS, type OutputName } from '../../processors/outputs.js'
import { outputSchema } from '../../schemas/index.js'

export type FieldKind = 'number' | 'boolean' | 'string' | 'json'

/** Appends the hash fields of `value` to `out` as field, value, field, value... */
export function encodeHashFields(value: Readonly<Record<string, unknown>>, out: string[]): void {
  // Own keys only: avsc's decoded records carry methods (clone, toBuffer...) on their prototype.
  for (const field of Object.keys(value)) {
    const v = value[field]
    if (v === null || v === undefined) continue
    switch (typeof v) {
      case 'string':
        out.push(field, v)
        break
      case 'number':
        out.push(field, String(v))
        break
      case 'boolean':
        out.push(field, v ? 'true' : 'false')
        break
      case 'bigint':
        out.push(field, v.toString())
        break
      default:
        out.push(field, JSON.stringify(v))
    }
  }
}

const fieldKindsCache = new Map<OutputName, ReadonlyMap<string, FieldKind>>()

/** The kind of each field of an output's values, from its Avro schema. */
export function fieldKinds(output: OutputName): ReadonlyMap<string, FieldKind> {
  let kinds = fieldKindsCache.get(output)
  if (kinds === undefined) {
    const json = outputSchema(OUTPUTS[output].schema).current.json as {
      fields: { name: string; type: unknown }[]
    }
    kinds = new Map(json.fields.map((f) => [f.name, kindOf(f.type)]))
    fieldKindsCache.set(output, kinds)
  }
  return kinds
}

function kindOf(type: unknown): FieldKind {
  if (Array.isArray(type)) {
    const branches = type.filter((t) => t !== 'null')
    return branches.length === 1 ? kindOf(branches[0]) : 'json'
  }
  const name = typeof type === 'string' ? type : (type as { type: string }).type
  switch (name) {
    case 'long':
    case 'int':
    case 'double':
    case 'float':
      return 'number'
    case 'boolean':
      return 'boolean'
    case 'string':
    case 'enum':
      return 'string'
    default:
      return 'json'
  }
}

/** The value back from its hash (HGETALL), every schema field present (null when absent). */
export function decodeHash<T>(output: OutputName, hash: Readonly<Record<string, string>>): T {
  const out: Record<string, unknown> = {}
  for (const [field, kind] of fieldKinds(output)) {
    const raw = hash[field]
    if (raw === undefined) out[field] = null
    else if (kind === 'number') out[field] = Number(raw)
    else if (kind === 'boolean') out[field] = raw === 'true'
    else if (kind === 'json') out[field] = JSON.parse(raw)
    else out[field] = raw
  }
  return out as T
}
