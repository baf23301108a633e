// The default serde: Confluent wire format against a Schema Registry (TopicNameStrategy: subject
// `<topic>-value`). It caches both ways: the current schema's id, looked up (or registered) once at
// creation, for writing; and per writer id met while reading, how to read it into the current schema
// (fetched once, resolved once, failures included).
import type { RecordLocation } from '../errors.js'
import { DecodeError, SchemaError } from '../errors.js'
import { type EventFamily, valueSubject } from '../event-families.js'
import type { EventsByFamily } from '../generated/types.js'
import type { SchemaLookup } from '../registry/schema-lookup.js'
import { type FamilySchemas, parseSchemaText, type SchemaName, schemaCatalog } from '../schema-catalog.js'
import { CONFLUENT_HEADER_SIZE, confluentHeader, readConfluentSchemaId } from './confluent-wire-format.js'
import type { EventSerde } from './event-serde.js'
import { FramedEncoder } from './framed-encoder.js'
import { decodeBody, planWriterReader, type WriterName, type WriterReader } from './writer-reader.js'

export interface RegistrySerdeOptions<F extends EventFamily> {
  family: F
  /** Topic the values go to; its subject is `<topic>-value`. Defaults to the family's topic. */
  topic?: string
  lookup: SchemaLookup
  /** Register the current schema when the subject lacks it (off by default: provisioning registers). */
  autoRegister?: boolean
  /** The family's schemas; defaults to the shipped catalog. */
  schemas?: FamilySchemas
}

/** Why a writer id cannot be read, remembered like a successful plan. */
type IdPlan = (WriterReader | { readonly ok: false; readonly unknown: true; readonly reason: string }) & {
  /** The writer as errors name it, built once per id rather than once per record. */
  readonly name: WriterName
}

export async function createRegistrySerde<F extends EventFamily>(
  options: RegistrySerdeOptions<F>,
): Promise<EventSerde<EventsByFamily[F]>> {
  const schemas = options.schemas ?? schemaCatalog()[options.family]
  const topic = options.topic ?? options.family
  return createRegistryValueSerde<EventsByFamily[F]>({ ...options, schemas, topic })
}

/** The same serde for any schema of the catalogs (the processors' outputs too), values typed by the caller. */
export async function createRegistryValueSerde<T>(options: {
  schemas: FamilySchemas<SchemaName>
  topic: string
  lookup: SchemaLookup
  autoRegister?: boolean
}): Promise<EventSerde<T>> {
  const { schemas, topic } = options
  const writerId = await options.lookup.writerId(valueSubject(topic), schemas.current.text, {
    register: options.autoRegister ?? false,
  })
  return new RegistrySerde<T>(schemas.family, topic, schemas, options.lookup, writerId)
}

class RegistrySerde<T> implements EventSerde<T> {
  readonly encoding = 'registry' as const
  readonly family: SchemaName
  readonly topic: string
  readonly writerHeader: Buffer
  readonly #schemas: FamilySchemas<SchemaName>
  readonly #lookup: SchemaLookup
  readonly #encoder: FramedEncoder
  readonly #plans = new Map<number, IdPlan>()
  readonly #fetching = new Map<number, Promise<void>>()

  constructor(
    family: SchemaName,
    topic: string,
    schemas: FamilySchemas<SchemaName>,
    lookup: SchemaLookup,
    writerId: number,
  ) {
    this.family = family
    this.topic = topic
    this.#schemas = schemas
    this.#lookup = lookup
    this.writerHeader = confluentHeader(writerId)
    this.#encoder = new FramedEncoder(schemas.current.type, this.writerHeader, `${topic} event`)
    this.#plans.set(writerId, {
      ok: true,
      reader: schemas.current.type,
      resolver: undefined,
      name: { schemaId: writerId },
    })
  }

  serialize(event: T): Buffer {
    return this.#encoder.encode(event)
  }

  deserialize(bytes: Buffer, location?: RecordLocation): T {
    const schemaId = readConfluentSchemaId(bytes, location)
    const plan = this.#plans.get(schemaId)
    if (plan === undefined) {
      throw new SchemaError(
        'SCHEMA_NOT_PREPARED',
        `schema id ${schemaId} was not fetched: call prepare() on the batch`,
        {
          ...location,
          schemaId,
        },
      )
    }
    if (!plan.ok && 'unknown' in plan) {
      throw new DecodeError('UNKNOWN_SCHEMA_ID', plan.reason, { ...location, schemaId })
    }
    return decodeBody<T>(plan, bytes, CONFLUENT_HEADER_SIZE, location, plan.name)
  }

  async prepare(values: Iterable<Buffer | null | undefined>): Promise<void> {
    const missing = new Set<number>()
    for (const value of values) {
      // Values with a bad header are left for deserialize to report.
      if (!value || value.length < CONFLUENT_HEADER_SIZE || value[0] !== 0) continue
      const id = value.readInt32BE(1)
      if (!this.#plans.has(id)) missing.add(id)
    }
    await Promise.all([...missing].map((id) => this.#fetch(id)))
  }

  async deserializeAsync(bytes: Buffer, location?: RecordLocation): Promise<T> {
    await this.prepare([bytes])
    return this.deserialize(bytes, location)
  }

  #fetch(id: number): Promise<void> {
    let pending = this.#fetching.get(id)
    if (!pending) {
      pending = this.#plan(id)
        .then((plan) => {
          this.#plans.set(id, plan)
        })
        .finally(() => this.#fetching.delete(id))
      this.#fetching.set(id, pending)
    }
    return pending
  }

  async #plan(id: number): Promise<IdPlan> {
    let text: string
    try {
      text = await this.#lookup.schemaById(id)
    } catch (error) {
      if (error instanceof SchemaError && error.code === 'UNKNOWN_SCHEMA_ID') {
        return { ok: false, unknown: true, reason: error.message, name: { schemaId: id } }
      }
      throw error
    }
    const { current } = this.#schemas
    try {
      const writer = parseSchemaText(this.family, `registry id ${id}`, text)
      return { ...planWriterReader(current.type, current.canonical, writer.type), name: { schemaId: id } }
    } catch (error) {
      const reason = `writer schema ${id} is not a valid Avro schema: ${(error as Error).message}`
      return { ok: false, reason, name: { schemaId: id } }
    }
  }
}
