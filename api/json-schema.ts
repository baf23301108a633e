// JSON Schemas of the API's responses, derived from the processors' Avro output schemas (never
// written by hand, so the OpenAPI document follows a schema change): a record becomes an object with
// every field required, a nullable union admits null, longs and ints are integers, enums list their
// symbols, arrays and maps keep their item types. The shape is the one the Redis read model returns
// (sinks/redis/hash-codec.ts): a null field reads back as null.
import { OUTPUTS, type OutputName } from '../processors/outputs.js'
import { outputSchema } from '../schemas/index.js'

export type JsonSchema = Record<string, unknown>

type AvroType = string | AvroType[] | { type: string; [key: string]: unknown }

const PRIMITIVES: Record<string, JsonSchema> = {
  null: { type: 'null' },
  boolean: { type: 'boolean' },
  int: { type: 'integer' },
  long: { type: 'integer' },
  float: { type: 'number' },
  double: { type: 'number' },
  string: { type: 'string' },
  bytes: { type: 'string' },
}

export function avroToJsonSchema(
  type: AvroType,
  named = new Map<string, JsonSchema>(),
  namespace = '',
): JsonSchema {
  if (typeof type === 'string') {
    const primitive = PRIMITIVES[type]
    if (primitive) return { ...primitive }
    const found = named.get(type) ?? named.get(`${namespace}.${type}`)
    if (!found) throw new Error(`Avro type ${type} is not defined before its use`)
    return found
  }
  if (Array.isArray(type)) {
    const branches = type.filter((t) => t !== 'null')
    const nullable = branches.length < type.length
    if (branches.length === 1) {
      const inner = avroToJsonSchema(branches[0] as AvroType, named, namespace)
      if (!nullable) return inner
      // OpenAPI 3.0.3: `nullable` does not widen an `enum`, which must list null itself.
      return Array.isArray(inner.enum)
        ? { ...inner, nullable: true, enum: [...inner.enum, null] }
        : { ...inner, nullable: true }
    }
    const anyOf = branches.map((b) => avroToJsonSchema(b, named, namespace))
    return nullable ? { anyOf, nullable: true } : { anyOf }
  }
  const ns = typeof type.namespace === 'string' ? type.namespace : namespace
  const doc = typeof type.doc === 'string' ? { description: type.doc } : {}
  let schema: JsonSchema
  switch (type.type) {
    case 'record': {
      const fields = type.fields as { name: string; type: AvroType; doc?: string }[]
      const properties: Record<string, JsonSchema> = {}
      for (const f of fields)
        properties[f.name] = {
          ...avroToJsonSchema(f.type, named, ns),
          ...(f.doc ? { description: f.doc } : {}),
        }
      schema = {
        type: 'object',
        ...doc,
        properties,
        required: fields.map((f) => f.name),
        additionalProperties: false,
      }
      break
    }
    case 'enum':
      schema = { type: 'string', ...doc, enum: [...(type.symbols as string[])] }
      break
    case 'array':
      schema = { type: 'array', items: avroToJsonSchema(type.items as AvroType, named, ns) }
      break
    case 'map':
      schema = { type: 'object', additionalProperties: avroToJsonSchema(type.values as AvroType, named, ns) }
      break
    case 'fixed':
      schema = { type: 'string' }
      break
    default: {
      // A primitive written as an object, possibly with a logical type (timestamp-millis, uuid).
      const primitive = PRIMITIVES[type.type]
      if (!primitive) throw new Error(`Avro type ${type.type} has no JSON Schema here`)
      schema = { ...primitive }
    }
  }
  if (typeof type.name === 'string') {
    const full = type.name.includes('.') ? type.name : ns ? `${ns}.${type.name}` : type.name
    named.set(full, schema)
    named.set(type.name, schema)
  }
  return schema
}

const outputCache = new Map<OutputName, JsonSchema>()

/** The JSON Schema of one output's values (as the read model returns them). */
export function outputJsonSchema(output: OutputName): JsonSchema {
  let schema = outputCache.get(output)
  if (schema === undefined) {
    schema = avroToJsonSchema(outputSchema(OUTPUTS[output].schema).current.json as AvroType)
    outputCache.set(output, schema)
  }
  return schema
}

/** The response schemas shared by several routes, with the `$id` the routes refer to. */
export function sharedSchemas(): JsonSchema[] {
  const team = outputJsonSchema('teams')
  return [
    { $id: 'AgentSnapshot', ...outputJsonSchema('agents') },
    { $id: 'TeamSnapshot', ...team },
    {
      $id: 'TeamWithRoles',
      ...team,
      properties: {
        ...(team.properties as object),
        roles: {
          type: 'object',
          additionalProperties: { type: 'string' },
          description: 'Member agent id -> role',
        },
      },
      required: [...(team.required as string[]), 'roles'],
    },
    { $id: 'TaskSnapshot', ...outputJsonSchema('tasks') },
    { $id: 'IdleAgentsByCapability', ...outputJsonSchema('idleAgentsByCapability') },
    { $id: 'Alert', ...outputJsonSchema('alerts') },
  ]
}
