// Events as HTTP clients post them, and their Avro value. The body is flat: `type` names the payload
// record (e.g. AgentCreated), the family's key field, `event_id` and `occurred_at` sit beside the
// payload's own fields, so a client writes
//   { "type": "AgentStatusChanged", "agent_id": "a-1", "previous_status": "IDLE", "status": "BUSY" }
// and the converter builds the envelope avsc writes (payload wrapped in its branch's full name).
// event_id defaults to a new UUID, occurred_at to now; timestamps are ISO-8601 (with a zone) or epoch
// ms. Every problem is reported with its path, and fields the schema does not have are refused: a
// typo must not be dropped silently. Built from the shipped .avsc files, never by hand, so a new event
// type or field is accepted, and documented (eventRequestJsonSchema), as soon as the schema has it.
import { randomUUID } from 'node:crypto'
import {
  EVENT_FAMILIES,
  type EventFamily,
  type EventsByFamily,
  eventFamilies,
  type SchemaCatalog,
  schemaCatalog,
} from '../../schemas/index.js'
import {
  compileShape,
  type FieldProblem,
  type FieldShape,
  isJsonObject,
  type NamedShapes,
  type RecordShape,
  readFields,
  readJson,
} from './avro-shapes.js'
import { EVENT_EXAMPLES, type JsonSchema, requestJsonSchema } from './event-request-schema.js'
import { EventValidationError } from './event-validation-error.js'

/** One postable event type: a branch of a family's payload union. */
export interface EventType {
  /** The payload record's short name, the body's `type`: AgentCreated. */
  type: string
  /** Its full Avro name, the union branch avsc writes: agent_party.events.AgentCreated. */
  fullName: string
  family: EventFamily
  /** The envelope field that is the record key: agent_id. */
  keyField: string
  payload: RecordShape
  /** The envelope's fields except `payload` (event_id, occurred_at, the key field). */
  envelope: readonly FieldShape[]
}

/** An event read from JSON: its family, type and key, and the envelope as the family's serde writes it. */
export type ConvertedEvent = {
  [F in EventFamily]: { family: F; type: string; key: string; event: EventsByFamily[F] }
}[EventFamily]

export interface ConvertOptions {
  /** The default occurred_at, epoch ms (default Date.now). */
  now?: () => number
  /** The default event_id (default crypto.randomUUID). */
  newId?: () => string
}

export class EventJsonConverter {
  /** Every postable type, family by family, in union order. */
  readonly types: readonly EventType[]
  readonly #byType: ReadonlyMap<string, EventType>
  /** Envelope fields every family has (event_id, occurred_at): checked even when `type` is bad. */
  readonly #common: readonly FieldShape[]
  readonly #typeList: string

  constructor(catalog: SchemaCatalog = schemaCatalog()) {
    this.types = EVENT_FAMILIES.flatMap((family) => familyTypes(family, catalog[family].current.json))
    const byType = new Map<string, EventType>()
    for (const t of this.types) {
      const other = byType.get(t.type)
      if (other) throw new TypeError(`event type ${t.type} is in both ${other.family} and ${t.family}`)
      byType.set(t.type, t)
    }
    this.#byType = byType
    const first = this.types[0]
    this.#common = (first?.envelope ?? []).filter((f) =>
      this.types.every((t) => t.envelope.some((e) => e.name === f.name && e.shape.kind === f.shape.kind)),
    )
    this.#typeList = this.types.map((t) => t.type).join(', ')
  }

  eventType(type: string): EventType | undefined {
    return this.#byType.get(type)
  }

  /** The Avro envelope of a flat JSON event; throws EventValidationError listing every invalid field. */
  convert(body: unknown, options: ConvertOptions = {}): ConvertedEvent {
    if (!isJsonObject(body))
      throw new EventValidationError([{ field: '(body)', message: 'expected a JSON object' }])
    const def = typeof body.type === 'string' ? this.#byType.get(body.type) : undefined
    if (def === undefined) {
      const problems: FieldProblem[] = [
        {
          field: 'type',
          message:
            body.type === undefined ? `required: one of ${this.#typeList}` : `not one of ${this.#typeList}`,
        },
      ]
      // What every type has can still be judged, so the client learns all it can at once.
      for (const f of this.#common) {
        if (Object.hasOwn(body, f.name)) readJson(f.shape, body[f.name], f.name, problems)
      }
      throw new EventValidationError(problems)
    }
    const source = { ...body }
    delete source.type
    const problems: FieldProblem[] = []
    // An empty key is a string, but no entity's id: every keyless event would share one partition.
    if (source[def.keyField] === '')
      problems.push({ field: def.keyField, message: 'expected a non-empty string' })
    const fields = readFields(
      [...def.envelope, ...def.payload.fields],
      withDefaults(source, options),
      '',
      problems,
    )
    return finish(def, fields, problems)
  }

  /**
   * An event of `type` whose body holds only the payload's fields, the envelope given by the server
   * (`POST /agents`: the agent id is generated, not chosen by the client).
   */
  convertPayload(type: string, body: unknown, key: string, options: ConvertOptions = {}): ConvertedEvent {
    const def = this.#byType.get(type)
    if (def === undefined) throw new TypeError(`unknown event type ${type}: one of ${this.#typeList}`)
    if (!isJsonObject(body))
      throw new EventValidationError([{ field: '(body)', message: 'expected a JSON object' }])
    const problems: FieldProblem[] = []
    const payload = readFields(def.payload.fields, body, '', problems)
    const envelope = readFields(def.envelope, withDefaults({ [def.keyField]: key }, options), '', problems)
    return finish(def, payload && envelope ? { ...envelope, ...payload } : undefined, problems)
  }
}

function withDefaults(source: Record<string, unknown>, options: ConvertOptions): Record<string, unknown> {
  const out = { ...source }
  if (!Object.hasOwn(out, 'event_id')) out.event_id = (options.newId ?? randomUUID)()
  if (!Object.hasOwn(out, 'occurred_at')) out.occurred_at = (options.now ?? Date.now)()
  return out
}

function finish(
  def: EventType,
  fields: Record<string, unknown> | undefined,
  problems: FieldProblem[],
): ConvertedEvent {
  if (fields === undefined || problems.length > 0) throw new EventValidationError(problems)
  const event: Record<string, unknown> = {}
  for (const f of def.envelope) event[f.name] = fields[f.name]
  event.payload = {
    [def.fullName]: Object.fromEntries(def.payload.fields.map((f) => [f.name, fields[f.name]])),
  }
  return {
    family: def.family,
    type: def.type,
    key: fields[def.keyField] as string,
    event,
  } as unknown as ConvertedEvent
}

/** The payload branches of a family's envelope schema, each with the envelope's other fields. */
function familyTypes(family: EventFamily, json: unknown): EventType[] {
  const schema = json as {
    namespace?: string
    fields: { name: string; type: unknown; doc?: unknown; default?: unknown }[]
  }
  const namespace = schema.namespace ?? ''
  const named: NamedShapes = new Map()
  const envelope: FieldShape[] = []
  let branches: unknown[] = []
  for (const field of schema.fields) {
    if (field.name === 'payload') {
      if (!Array.isArray(field.type)) throw new TypeError(`${family}: payload is not a union`)
      branches = field.type
      continue
    }
    envelope.push({
      name: field.name,
      shape: compileShape(field.type, namespace, named, `${family}.${field.name}`),
      ...(typeof field.doc === 'string' ? { doc: field.doc } : {}),
      ...('default' in field ? { default: { value: field.default } } : {}),
    })
  }
  const keyField = eventFamilies[family].keyField
  for (const [name, kind] of [
    [keyField, 'string'],
    ['event_id', 'uuid'],
    ['occurred_at', 'timestamp'],
  ] as const) {
    const found = envelope.find((f) => f.name === name)
    if (found?.shape.kind !== kind) throw new TypeError(`${family}: the envelope needs ${name} (${kind})`)
  }
  const envelopeNames = new Set(['type', ...envelope.map((f) => f.name)])
  return branches.map((branch) => {
    const payload = compileShape(branch, namespace, named, `${family}.payload`)
    if (payload.kind !== 'record') throw new TypeError(`${family}: a payload branch is not a record`)
    // The body is flat: a payload field named like an envelope field would be ambiguous.
    const clash = payload.fields.filter((f) => envelopeNames.has(f.name)).map((f) => f.name)
    if (clash.length > 0) {
      throw new TypeError(
        `${payload.name} has field(s) ${clash.join(', ')} named like the envelope's: the flat JSON body cannot hold both`,
      )
    }
    const type = payload.name.slice(payload.name.lastIndexOf('.') + 1)
    return { type, fullName: payload.name, family, keyField, payload, envelope }
  })
}

let defaultConverter: EventJsonConverter | undefined

/** The converter of the shipped schemas, built once per process. */
export function eventJsonConverter(): EventJsonConverter {
  defaultConverter ??= new EventJsonConverter()
  return defaultConverter
}

/** `eventJsonConverter().convert(body)`. */
export function eventFromJson(body: unknown, options: ConvertOptions = {}): ConvertedEvent {
  return eventJsonConverter().convert(body, options)
}

/**
 * JSON Schema (draft-07 / OpenAPI 3.0) of the request body of `POST /events`, for the OpenAPI document:
 * one `oneOf` branch per event type, with examples. Documentation only: the converter validates.
 */
export function eventRequestJsonSchema(converter: EventJsonConverter = eventJsonConverter()): JsonSchema {
  return requestJsonSchema(converter.types)
}

export { EVENT_EXAMPLES, EventValidationError, type FieldProblem, type JsonSchema }

/**
 * JSON Schema of the request body of `POST /agents`: AgentCreated's fields only (the server chooses
 * the agent id, the event id and the time), from the same branch as POST /events documents.
 */
export function agentRequestJsonSchema(converter: EventJsonConverter = eventJsonConverter()): JsonSchema {
  const schema = requestJsonSchema(converter.types)
  const branch = (schema.oneOf as JsonSchema[]).find((b) => b.title === 'AgentCreated')
  if (branch === undefined) throw new Error('the agent_events schema has no AgentCreated')
  const reserved = new Set(['type', 'agent_id', 'event_id', 'occurred_at'])
  const properties = Object.fromEntries(
    Object.entries(branch.properties as Record<string, JsonSchema>).filter(([name]) => !reserved.has(name)),
  )
  return {
    type: 'object',
    description: `${branch.description as string} The agent id is chosen by the server.`,
    properties,
    required: (branch.required as string[]).filter((name) => !reserved.has(name)),
    additionalProperties: false,
    examples: [
      {
        template_id: 'researcher',
        version: 3,
        name: 'researcher-17',
        capabilities: [{ name: 'web_search', category: 'research' }],
      },
    ],
  }
}
