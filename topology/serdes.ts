// The minimal serde contract of the engine and its builtins. Serialization happens only at the edges:
// sources, sinks, repartition topics and changelog records; stores keep objects.
import { TopologyError } from './errors.js'

/** Turns values into bytes and back. `null` stands for a tombstone and is never passed to a serde. */
export interface Serde<T> {
  serialize(topic: string, value: T): Buffer | null
  deserialize(topic: string, bytes: Buffer): T
  /**
   * Optional asynchronous step before a batch of a source topic is deserialized (a Schema Registry
   * serde fetches the writer schemas it has not seen), and before a store restores a batch of the
   * topic it logs into (Materialized.withChangelogTopic, value serde). The Kafka runtime awaits it once
   * per fetched batch, so that deserialize stays synchronous; when it rejects, the batch is fetched
   * again later (1 s later during a restore).
   * The test driver does not call it: prepare such a serde yourself before piping.
   */
  prepare?(topic: string, values: readonly Buffer[]): Promise<void>
}

const stringSerde: Serde<string> = {
  serialize: (_topic, value) => Buffer.from(value, 'utf8'),
  deserialize: (_topic, bytes) => bytes.toString('utf8'),
}

// A JavaScript number as an IEEE-754 double, big-endian (Kafka's DoubleSerde layout).
const numberSerde: Serde<number> = {
  serialize: (_topic, value) => {
    const out = Buffer.allocUnsafe(8)
    out.writeDoubleBE(value, 0)
    return out
  },
  deserialize: (_topic, bytes) => bytes.readDoubleBE(0),
}

// A safe integer as a signed 64-bit big-endian integer (Kafka's LongSerde layout), so that counts can be
// read by JVM consumers; values beyond Number.MAX_SAFE_INTEGER are refused rather than rounded. Written
// as two 32-bit halves: going through BigInt allocates on every call.
const TWO_32 = 4294967296
const longSerde: Serde<number> = {
  serialize: (topic, value) => {
    if (!Number.isSafeInteger(value)) {
      throw new TopologyError(
        'SERIALIZATION_FAILED',
        `Serdes.Long() cannot encode ${value}: not a safe integer`,
        {
          subject: topic,
        },
      )
    }
    const out = Buffer.allocUnsafe(8)
    const high = Math.floor(value / TWO_32)
    out.writeInt32BE(high, 0)
    out.writeUInt32BE(value - high * TWO_32, 4)
    return out
  },
  deserialize: (_topic, bytes) => bytes.readInt32BE(0) * TWO_32 + bytes.readUInt32BE(4),
}

const bufferSerde: Serde<Buffer> = {
  serialize: (_topic, value) => value,
  deserialize: (_topic, bytes) => bytes,
}

const jsonSerde: Serde<unknown> = {
  serialize: (_topic, value) => Buffer.from(JSON.stringify(value), 'utf8'),
  deserialize: (_topic, bytes) => JSON.parse(bytes.toString('utf8')) as unknown,
}

export const Serdes = {
  String: (): Serde<string> => stringSerde,
  Number: (): Serde<number> => numberSerde,
  Long: (): Serde<number> => longSerde,
  Buffer: (): Serde<Buffer> => bufferSerde,
  /** JSON text; the type parameter is trusted, not checked. */
  Json: <T>(): Serde<T> => jsonSerde as Serde<T>,
} as const
