// The serde for deployments without a registry: Avro single-object encoding, the writer named by the
// fingerprint of its canonical form. The reader knows every version kept in schemas/avro/history
// (and the current one) and resolves each into the current schema, planned once per writer.
import type { RecordLocation } from '../errors.js'
import { DecodeError } from '../errors.js'
import type { EventFamily } from '../event-families.js'
import type { EventsByFamily } from '../generated/types.js'
import { fingerprintHex } from '../rabin-fingerprint.js'
import { type FamilySchemas, knownWriters, type SchemaName, schemaCatalog } from '../schema-catalog.js'
import type { EventSerde } from './event-serde.js'
import { FramedEncoder } from './framed-encoder.js'
import {
  checkSingleObjectHeader,
  SINGLE_OBJECT_HEADER_SIZE,
  singleObjectHeader,
} from './single-object-format.js'
import { decodeBody, planWriterReader, type WriterName, type WriterReader } from './writer-reader.js'

export interface SingleObjectSerdeOptions<F extends EventFamily> {
  family: F
  topic?: string
  /** The family's schemas; defaults to the shipped catalog. */
  schemas?: FamilySchemas
}

export function createSingleObjectSerde<F extends EventFamily>(
  options: SingleObjectSerdeOptions<F>,
): EventSerde<EventsByFamily[F]> {
  const schemas = options.schemas ?? schemaCatalog()[options.family]
  return createSingleObjectValueSerde<EventsByFamily[F]>(schemas, options.topic ?? options.family)
}

/** The same serde for any schema of the catalogs (the processors' outputs too), values typed by the caller. */
export function createSingleObjectValueSerde<T>(
  schemas: FamilySchemas<SchemaName>,
  topic: string,
): EventSerde<T> {
  return new SingleObjectSerde<T>(schemas.family, topic, schemas)
}

interface KnownWriter {
  high: number
  plan: WriterReader
  name: WriterName
}

class SingleObjectSerde<T> implements EventSerde<T> {
  readonly encoding = 'single-object' as const
  readonly family: SchemaName
  readonly topic: string
  readonly writerHeader: Buffer
  readonly #encoder: FramedEncoder
  /**
   * Plans by the low 32 bits of the fingerprint, then the high ones: two uint32 reads per record
   * instead of a BigInt allocation (measured: the BigInt map cost ~20% of a decode).
   */
  readonly #plans = new Map<number, KnownWriter[]>()

  constructor(family: SchemaName, topic: string, schemas: FamilySchemas<SchemaName>) {
    this.family = family
    this.topic = topic
    const { current } = schemas
    this.writerHeader = singleObjectHeader(current.fingerprint)
    this.#encoder = new FramedEncoder(current.type, this.writerHeader, `${topic} event`)
    for (const writer of knownWriters(schemas)) {
      const low = Number(writer.fingerprint & 0xffffffffn)
      const known: KnownWriter = {
        high: Number(writer.fingerprint >> 32n),
        plan: planWriterReader(current.type, current.canonical, writer.type),
        name: { fingerprint: writer.fingerprint },
      }
      this.#plans.set(low, [...(this.#plans.get(low) ?? []), known])
    }
  }

  serialize(event: T): Buffer {
    return this.#encoder.encode(event)
  }

  deserialize(bytes: Buffer, location?: RecordLocation): T {
    checkSingleObjectHeader(bytes, location)
    const high = bytes.readUInt32LE(6)
    const known = this.#plans.get(bytes.readUInt32LE(2))?.find((k) => k.high === high)
    if (known === undefined) {
      const hex = fingerprintHex(bytes.readBigUInt64LE(2))
      throw new DecodeError('UNKNOWN_FINGERPRINT', `no known ${this.family} schema has fingerprint ${hex}`, {
        ...location,
        fingerprint: hex,
      })
    }
    return decodeBody<T>(known.plan, bytes, SINGLE_OBJECT_HEADER_SIZE, location, known.name)
  }

  async prepare(): Promise<void> {}

  async deserializeAsync(bytes: Buffer, location?: RecordLocation): Promise<T> {
    return this.deserialize(bytes, location)
  }
}
