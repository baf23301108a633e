// A grouped stream windowed by TimeWindows (tumbling or hopping): count, reduce or aggregate per key and
// window into a window store, with Kafka Streams' lateness rule and emit strategy. The store keeps each
// aggregate with its latest record timestamp (ValueAndTimestamp) for the windows' retention.
import { TopologyError } from './errors.js'
import type { GraphBuilder } from './internals/graph/graph-builder.js'
import type { KGroupedStream } from './kgrouped-stream.js'
import { Materialized } from './materialized.js'
import { type Serde, Serdes } from './serdes.js'
import { type LateOutputSlot, WindowedKTable } from './windowed-ktable.js'
import { EmitStrategy } from './windows/emit-strategy.js'
import { TimeWindowAggregateProcessor } from './windows/internals/time-window-aggregate-processor.js'
import { valueAndTimestampSerde } from './windows/internals/value-and-timestamp.js'
import type { TimeWindows } from './windows/time-windows.js'
import { WindowedSerdes } from './windows/windowed-serdes.js'

// Reduce starts from "no aggregate yet"; the sentinel never reaches a store or a user function.
const NONE: unique symbol = Symbol('no aggregate')

export class TimeWindowedKStream<K, V> {
  /** @internal Created by KGroupedStream.windowedBy(). */
  constructor(
    private readonly graph: GraphBuilder,
    private readonly grouped: KGroupedStream<K, V>,
    private readonly keySerde: Serde<K> | undefined,
    private readonly valueSerde: Serde<V> | undefined,
    readonly windows: TimeWindows,
    private readonly emit: EmitStrategy = EmitStrategy.onWindowUpdate(),
  ) {}

  /** On every update (default), or once per window when it closes (Kafka Streams' emit final). */
  emitStrategy(strategy: EmitStrategy): TimeWindowedKStream<K, V> {
    return new TimeWindowedKStream(
      this.graph,
      this.grouped,
      this.keySerde,
      this.valueSerde,
      this.windows,
      strategy,
    )
  }

  count(
    materialized: Materialized<K, number> = Materialized.with<K, number>(),
  ): WindowedKTable<K, number, V> {
    return this.#aggregate(
      'KSTREAM-AGGREGATE',
      () => 0,
      (_key, _value, count) => count + 1,
      materialized,
      Serdes.Long(),
    )
  }

  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> = Materialized.with<K, V>(),
  ): WindowedKTable<K, V, V> {
    type A = V | typeof NONE
    return this.#aggregate<A>(
      'KSTREAM-REDUCE',
      () => NONE,
      (_key, value, aggregate) => (aggregate === NONE ? value : reducer(aggregate, value)),
      materialized as Materialized<K, A>,
      this.valueSerde as Serde<A> | undefined,
    ) as unknown as WindowedKTable<K, V, V>
  }

  aggregate<A>(
    initializer: () => A,
    aggregator: (key: K, value: V, aggregate: A) => A,
    materialized: Materialized<K, A> = Materialized.with<K, A>(),
  ): WindowedKTable<K, A, V> {
    return this.#aggregate('KSTREAM-AGGREGATE', initializer, aggregator, materialized, undefined)
  }

  #aggregate<A>(
    prefix: string,
    initializer: () => A,
    aggregator: (key: K, value: V, aggregate: A) => A,
    materialized: Materialized<K, A>,
    defaultValueSerde: Serde<A> | undefined,
  ): WindowedKTable<K, A, V> {
    const { graph, windows, emit } = this
    const storeName = materialized.storeName ?? graph.name(undefined, `${prefix}-STATE-STORE`)
    const parent = this.grouped.aggregationSource(storeName)
    const retentionMs = materialized.retentionMs ?? windows.defaultRetentionMs
    if (retentionMs < windows.defaultRetentionMs) {
      graph.problem(
        new TopologyError(
          'INVALID_ARGUMENT',
          `the retention of window store ${storeName} must be at least its window size plus grace (${windows.sizeMs} + ${windows.graceMs} ms), got ${retentionMs}: raise Materialized.withRetention() or drop it`,
          { subject: storeName },
        ),
      )
    }
    const keySerde = materialized.keySerde ?? this.keySerde
    const valueSerde = materialized.valueSerde ?? defaultValueSerde
    graph.addStore({
      kind: 'window',
      name: storeName,
      keySerde: keySerde as Serde<unknown> | undefined,
      valueSerde: valueSerde && (valueAndTimestampSerde(valueSerde) as Serde<unknown>),
      wrapValueSerde: (serde) => valueAndTimestampSerde(serde) as Serde<unknown>,
      cachingEnabled: materialized.cachingEnabled,
      loggingEnabled: materialized.loggingEnabled,
      windowSizeMs: windows.sizeMs,
      retentionMs: Math.max(retentionMs, windows.defaultRetentionMs),
      hint: `pass Materialized.as('${storeName}').withKeySerde(...).withValueSerde(...) (or Materialized.with(keySerde, valueSerde))`,
    })
    const name = graph.name(undefined, prefix)
    const late: LateOutputSlot = { name: undefined }
    graph.addProcessor(
      name,
      () =>
        new TimeWindowAggregateProcessor<K, V, A>({
          storeName,
          windows,
          initializer,
          aggregator,
          emit,
          lateChildName: late.name,
        }),
      [parent],
      [storeName],
    )
    return new WindowedKTable<K, A, V>(
      graph,
      name,
      storeName,
      keySerde && WindowedSerdes.timeWindowed(keySerde, windows.sizeMs),
      valueSerde,
      late,
      this.keySerde,
    )
  }
}
