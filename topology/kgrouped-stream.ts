// KGroupedStream: a stream grouped by key, ready for count, reduce or aggregate. If the key changed since
// the stream was read, the aggregation first goes through `<name>-repartition` (named after the Grouped
// name, else the store name), so that every record of a key reaches the same task.
import type { Change } from './change.js'
import { TopologyError } from './errors.js'
import type { GraphBuilder } from './internals/graph/graph-builder.js'
import { type Fold, StreamAggregateProcessor } from './internals/processors/stream-aggregate-processor.js'
import { KTable } from './ktable.js'
import { Materialized } from './materialized.js'
import { type Serde, Serdes } from './serdes.js'
import { SessionWindowedKStream } from './session-windowed-kstream.js'
import { SlidingWindowedKStream } from './sliding-windowed-kstream.js'
import { TimeWindowedKStream } from './time-windowed-kstream.js'
import { SessionWindows } from './windows/session-windows.js'
import { SlidingWindows } from './windows/sliding-windows.js'
import { TimeWindows } from './windows/time-windows.js'

export class KGroupedStream<K, V> {
  // Several aggregations of one grouped stream share one repartition topic.
  #repartitionSource: string | undefined

  /** @internal */
  constructor(
    private readonly graph: GraphBuilder,
    private readonly nodeName: string,
    private readonly keySerde: Serde<K> | undefined,
    private readonly valueSerde: Serde<V> | undefined,
    private readonly repartitionRequired: boolean,
    private readonly groupedName: string | undefined,
  ) {}

  /** Records per key; the store's values are Long-encoded in the changelog unless told otherwise. */
  count(materialized: Materialized<K, number> = Materialized.with<K, number>()): KTable<K, number> {
    const fold: Fold<K, V, number> = (_key, _value, previous) => (previous ?? 0) + 1
    return this.#aggregate('KSTREAM-AGGREGATE', fold, materialized, Serdes.Long())
  }

  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> = Materialized.with<K, V>(),
  ): KTable<K, V> {
    const fold: Fold<K, V, V> = (_key, value, previous) =>
      previous === undefined ? value : reducer(previous, value)
    return this.#aggregate('KSTREAM-REDUCE', fold, materialized, this.valueSerde)
  }

  aggregate<A>(
    initializer: () => A,
    aggregator: (key: K, value: V, aggregate: A) => A,
    materialized: Materialized<K, A> = Materialized.with<K, A>(),
  ): KTable<K, A> {
    const fold: Fold<K, V, A> = (key, value, previous) =>
      aggregator(key, value, previous === undefined ? initializer() : previous)
    return this.#aggregate('KSTREAM-AGGREGATE', fold, materialized, undefined)
  }

  /** Tumbling or hopping windows (TimeWindows), sliding windows (SlidingWindows) or sessions, per key. */
  windowedBy(windows: TimeWindows): TimeWindowedKStream<K, V>
  windowedBy(windows: SlidingWindows): SlidingWindowedKStream<K, V>
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>
  windowedBy(
    windows: TimeWindows | SlidingWindows | SessionWindows,
  ): TimeWindowedKStream<K, V> | SlidingWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
    if (windows instanceof TimeWindows)
      return new TimeWindowedKStream(this.graph, this, this.keySerde, this.valueSerde, windows)
    if (windows instanceof SlidingWindows)
      return new SlidingWindowedKStream(this.graph, this, this.keySerde, this.valueSerde, windows)
    if (windows instanceof SessionWindows)
      return new SessionWindowedKStream(this.graph, this, this.keySerde, this.valueSerde, windows)
    throw new TopologyError(
      'INVALID_ARGUMENT',
      'windowedBy() takes TimeWindows, SlidingWindows or SessionWindows',
    )
  }

  /**
   * @internal The node an aggregation of this grouping reads from: after a key change, the shared
   * repartition topic's source (named after the Grouped name, else this aggregation's store).
   */
  aggregationSource(storeName: string): string {
    if (!this.repartitionRequired) return this.nodeName
    this.#repartitionSource ??= this.graph.addRepartition(this.nodeName, this.groupedName ?? storeName, {
      keySerde: this.keySerde as Serde<unknown> | undefined,
      valueSerde: this.valueSerde as Serde<unknown> | undefined,
      hint: 'the key changed before this grouping, so records go through a repartition topic: pass groupByKey({ keySerde, valueSerde }) or groupBy(selector, { keySerde, valueSerde })',
    })
    return this.#repartitionSource
  }

  #aggregate<A>(
    prefix: string,
    fold: Fold<K, V, A>,
    materialized: Materialized<K, A>,
    defaultValueSerde: Serde<A> | undefined,
  ): KTable<K, A> {
    const graph = this.graph
    const storeName = materialized.storeName ?? graph.name(undefined, `${prefix}-STATE-STORE`)
    const parent = this.aggregationSource(storeName)
    const keySerde = materialized.keySerde ?? this.keySerde
    const valueSerde = materialized.valueSerde ?? defaultValueSerde
    graph.addStore({
      name: storeName,
      keySerde: keySerde as Serde<unknown> | undefined,
      valueSerde: valueSerde as Serde<unknown> | undefined,
      cachingEnabled: materialized.cachingEnabled,
      loggingEnabled: materialized.loggingEnabled,
      changelogTopic: materialized.changelogTopic,
      hint: `pass Materialized.as('${storeName}').withKeySerde(...).withValueSerde(...) (or Materialized.with(keySerde, valueSerde))`,
    })
    const name = graph.name(undefined, prefix)
    graph.addProcessor<K, V, K, Change<A>>(
      name,
      () => new StreamAggregateProcessor<K, V, A>(storeName, fold),
      [parent],
      [storeName],
    )
    return new KTable<K, A>(graph, name, storeName, keySerde, valueSerde)
  }
}
