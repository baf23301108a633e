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

/** How KStream.combine() holds records back between commits. */
export interface Combined extends Named {
  /**
   * Combine only records of the same slice of event time, [n·sliceMs, (n+1)·sliceMs): give the slice of
   * the windowed aggregate downstream (a tumbling window's size; for hopping windows the greatest common
   * divisor of size and advance), so that every record of a combined value falls in the same windows.
   * Without it, records of a key are combined whatever their timestamps.
   */
  readonly sliceMs?: number
  /**
   * At most this many combined values are held per task (default 10,000): past it, the value combined
   * first goes on at once.
   */
  readonly maxPending?: number
}
