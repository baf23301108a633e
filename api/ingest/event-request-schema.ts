// The JSON Schema of `POST /events` bodies for the OpenAPI document, derived from the same compiled
// Avro shapes the converter reads with (avro-shapes.ts), so the documentation follows the .avsc files.
// Kept to what both JSON Schema draft-07 and OpenAPI 3.0 understand: a single-value `enum` instead
// of `const`, `nullable: true` instead of a type array, `examples` at the top (fastify-swagger turns
// them into the media type's examples). It documents; it does not validate (the converter does, with
// a message per field).
import type { FieldShape, RecordShape, Shape } from './avro-shapes.js'
import { isOptional, MAX_AVRO_LONG } from './avro-shapes.js'
import type { EventType } from './event-json.js'

export type JsonSchema = { [keyword: string]: unknown }

const INT_MIN = -(2 ** 31)
const INT_MAX = 2 ** 31 - 1
const MAX_EPOCH_MS = 8.64e15

/** Bodies that the converter accepts (a unit test keeps them so), one per family shape of interest. */
export const EVENT_EXAMPLES: readonly Readonly<Record<string, unknown>>[] = Object.freeze([
  {
    type: 'AgentCreated',
    agent_id: 'agent-7f3c',
    occurred_at: '2026-11-27T12:00:00Z',
    template_id: 'tmpl-code-reviewer',
    version: 3,
    name: 'reviewer-7f3c',
    capabilities: [
      { name: 'code-review', category: 'coding' },
      { name: 'web-search', category: 'retrieval' },
    ],
    model: 'llm-large-2',
  },
  {
    type: 'TaskCompleted',
    task_id: 'task-0192',
    event_id: '0b6f7a8e-3f1c-4d2e-9a51-6c2d8e4b7f10',
    occurred_at: 1795780800000,
    tokens_used: { 'agent-7f3c': 1520, 'agent-91ab': 860 },
    duration_ms: 45210,
  },
  {
    type: 'ComponentMetric',
    component: 'team-former',
    name: 'gnn_inference_time',
    value: 42.5,
    unit: 'MILLISECONDS',
  },
])

/** One `oneOf` branch per event type: `type` as a one-symbol enum, the key, the payload, the envelope. */
export function requestJsonSchema(types: readonly EventType[]): JsonSchema {
  return {
    type: 'object',
    description:
      'An event: `type` names the event type, the entity id (agent_id, team_id, task_id or component) is the ' +
      "record key, and the event type's fields sit at the top level. event_id (a UUID) and occurred_at " +
      '(an ISO-8601 time with a zone, or epoch milliseconds) may be left out: the server fills them in.',
    oneOf: types.map(branchSchema),
    examples: EVENT_EXAMPLES.map((e) => structuredClone(e)),
  }
}

function branchSchema(t: EventType): JsonSchema {
  const key = t.envelope.find((f) => f.name === t.keyField)
  const others = t.envelope.filter((f) => f.name !== t.keyField)
  const properties: Record<string, JsonSchema> = {
    type: { type: 'string', enum: [t.type], description: 'The event type.' },
    [t.keyField]: { ...fieldJsonSchema(key as FieldShape, []), minLength: 1 },
  }
  for (const f of t.payload.fields) properties[f.name] = fieldJsonSchema(f, [t.payload.name])
  for (const f of others) properties[f.name] = { ...fieldJsonSchema(f, []), description: envelopeDoc(f) }
  return {
    type: 'object',
    title: t.type,
    description: `${t.payload.doc ?? t.type} Topic ${t.family}, key ${t.keyField}.`,
    properties,
    required: ['type', t.keyField, ...t.payload.fields.filter((f) => !isOptional(f)).map((f) => f.name)],
    additionalProperties: false,
  }
}

function envelopeDoc(f: FieldShape): string {
  const doc = f.doc ? `${f.doc} ` : ''
  if (f.name === 'event_id') return `${doc}Default: a new random UUID.`
  if (f.name === 'occurred_at') {
    return `${doc}An ISO-8601 time with a zone, or epoch milliseconds. Default: when the server received it.`
  }
  return doc.trim()
}

function fieldJsonSchema(field: FieldShape, records: readonly string[]): JsonSchema {
  const schema = shapeJsonSchema(field.shape, records)
  const doc = field.doc ?? field.shape.doc
  return doc ? { ...schema, description: doc } : schema
}

/** `records`: the records being expanded around this one (a recursive schema cannot be inlined). */
function shapeJsonSchema(shape: Shape, records: readonly string[]): JsonSchema {
  switch (shape.kind) {
    case 'string':
      return { type: 'string' }
    case 'uuid':
      return { type: 'string', format: 'uuid' }
    case 'boolean':
      return { type: 'boolean' }
    case 'int':
      return { type: 'integer', format: 'int32', minimum: INT_MIN, maximum: INT_MAX }
    case 'long':
      return {
        type: 'integer',
        format: 'int64',
        minimum: -MAX_AVRO_LONG,
        maximum: MAX_AVRO_LONG,
      }
    case 'float':
      return { type: 'number', format: 'float' }
    case 'double':
      return { type: 'number', format: 'double' }
    case 'timestamp':
      return {
        oneOf: [
          { type: 'string', format: 'date-time' },
          { type: 'integer', minimum: -MAX_EPOCH_MS, maximum: MAX_EPOCH_MS },
        ],
      }
    case 'enum':
      return { type: 'string', enum: [...shape.symbols] }
    case 'array':
      return { type: 'array', items: withDoc(shape.items, records) }
    case 'map':
      return { type: 'object', additionalProperties: withDoc(shape.values, records) }
    case 'nullable': {
      const inner = withDoc(shape.type, records)
      // OpenAPI 3.0: a nullable enum lists null among its values.
      return Array.isArray(inner.enum)
        ? { ...inner, enum: [...inner.enum, null], nullable: true }
        : { ...inner, nullable: true }
    }
    case 'record':
      return recordJsonSchema(shape, records)
  }
}

function withDoc(shape: Shape, records: readonly string[]): JsonSchema {
  const schema = shapeJsonSchema(shape, records)
  return shape.doc ? { ...schema, description: shape.doc } : schema
}

function recordJsonSchema(record: RecordShape, records: readonly string[]): JsonSchema {
  if (records.includes(record.name)) throw new TypeError(`${record.name} is recursive: it cannot be inlined`)
  const inside = [...records, record.name]
  const required = record.fields.filter((f) => !isOptional(f)).map((f) => f.name)
  return {
    type: 'object',
    properties: Object.fromEntries(record.fields.map((f) => [f.name, fieldJsonSchema(f, inside)])),
    ...(required.length > 0 ? { required } : {}),
    additionalProperties: false,
  }
}
