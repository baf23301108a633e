// The plain option objects of the DSL (Kafka Streams' Consumed, Produced, Grouped, Repartitioned, Named).
import type { TimestampExtractor } from './record-handlers.js'
import type { Serde } from './serdes.js'

export interface SerdeOptions<K, V> {
  readonly keySerde?: Serde<K>
  readonly valueSerde?: Serde<V>
}

/** How a source reads a topic. */
export interface Consumed<K, V> extends SerdeOptions<K, V> {
  readonly name?: string
  /** Event time of each record; default: the record's own timestamp. */
  readonly timestampExtractor?: TimestampExtractor<K, V>
}

/** How a sink writes a topic. */
export interface Produced<K, V> extends SerdeOptions<K, V> {
  readonly name?: string
}

/** How a grouped stream is repartitioned; `name` names the repartition topic (`<name>-repartition`). */
export interface Grouped<K, V> extends SerdeOptions<K, V> {
  readonly name?: string
}

export type Repartitioned<K, V> = Grouped<K, V>

/** A name for a processor node, so that describe() and upgrades see a stable name. */
export interface Named {
  readonly name?: string
}

export interface AsyncOptions extends Named {
  /** Records of different keys in flight at once in one task; records of one key run one at a time. */
  readonly concurrency: number
}

/**
 * How a join reads its inputs (Kafka Streams' Joined): `name` names the join node and, when the stream's
 * key changed before the join, its repartition topic (`<name>-left-repartition`); the serdes are those
 * of that repartition topic.
 */
export interface Joined<K, V, VO> extends SerdeOptions<K, V> {
  readonly name?: string
  /** The other side's value serde (used by stream-stream joins' stores). */
  readonly otherValueSerde?: Serde<VO>
}
