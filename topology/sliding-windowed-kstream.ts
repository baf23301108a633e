// A grouped stream windowed by SlidingWindows: count, reduce or aggregate per key into windows of
// `timeDifference` ms that exist only around records (Kafka Streams' SlidingWindowedKStream, processed by
// SlidingWindowAggregateProcessor). Results are keyed by Windowed<K> with [start, start + timeDifference],
// both ends inclusive; the store is a window store of size timeDifference. Retention follows Kafka's
// SlidingWindowStoreMaterializer: default and minimum 2 * timeDifference + grace, because a record reads
// the key's windows back to t - 2 * timeDifference to build its right window. As Kafka does, caching is
// off for emit-on-close (each window is emitted once, from the store, when it closes).
import { TopologyError } from './errors.js'
import type { GraphBuilder } from './internals/graph/graph-builder.js'
import type { KGroupedStream } from './kgrouped-stream.js'
import { Materialized } from './materialized.js'
import { type Serde, Serdes } from './serdes.js'
import { type LateOutputSlot, WindowedKTable } from './windowed-ktable.js'
import { EmitStrategy } from './windows/emit-strategy.js'
import { SlidingWindowAggregateProcessor } from './windows/internals/sliding-window-aggregate-processor.js'
import { valueAndTimestampSerde } from './windows/internals/value-and-timestamp.js'
import type { SlidingWindows } from './windows/sliding-windows.js'
import { WindowedSerdes } from './windows/windowed-serdes.js'

// Reduce starts from "no aggregate yet"; the sentinel never reaches a store or a user function.
const NONE: unique symbol = Symbol('no aggregate')

export class SlidingWindowedKStream<K, V> {
  /** @internal Created by KGroupedStream.windowedBy(). */
  constructor(
    private readonly graph: GraphBuilder,
    private readonly grouped: KGroupedStream<K, V>,
    private readonly keySerde: Serde<K> | undefined,
    private readonly valueSerde: Serde<V> | undefined,
    readonly windows: SlidingWindows,
    private readonly emit: EmitStrategy = EmitStrategy.onWindowUpdate(),
  ) {}

  /** On every update (default), or once per window when it closes (end < stream time - grace). */
  emitStrategy(strategy: EmitStrategy): SlidingWindowedKStream<K, V> {
    return new SlidingWindowedKStream(
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
    const minimum = windows.defaultRetentionMs
    const retentionMs = materialized.retentionMs ?? minimum
    if (retentionMs < minimum) {
      graph.problem(
        new TopologyError(
          'INVALID_ARGUMENT',
          `the retention of sliding window store ${storeName} must be at least 2 * timeDifference + grace (2 * ${windows.timeDifferenceMs} + ${windows.graceMs} ms), got ${retentionMs}: raise Materialized.withRetention() or drop it`,
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
      // Kafka's SlidingWindowStoreMaterializer: no cache in front of an emit-on-close store.
      cachingEnabled: materialized.cachingEnabled && emit !== 'on-window-close',
      loggingEnabled: materialized.loggingEnabled,
      windowSizeMs: windows.timeDifferenceMs,
      // Windows of size 0 (timeDifference 0) end at the record: the store, which drops entries ending at
      // or before its observed end - retention, keeps them 1 ms longer, as Kafka's segmented store does.
      retentionMs: Math.max(retentionMs, windows.timeDifferenceMs === 0 ? minimum + 1 : minimum),
      hint: `pass Materialized.as('${storeName}').withKeySerde(...).withValueSerde(...) (or Materialized.with(keySerde, valueSerde))`,
    })
    const name = graph.name(undefined, prefix)
    const late: LateOutputSlot = { name: undefined }
    graph.addProcessor(
      name,
      () =>
        new SlidingWindowAggregateProcessor<K, V, A>({
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
      keySerde && WindowedSerdes.timeWindowed(keySerde, windows.timeDifferenceMs),
      valueSerde,
      late,
      this.keySerde,
    )
  }
}
