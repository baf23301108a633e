// A grouped stream windowed by SessionWindows: count, reduce or aggregate per key and session into a
// session store; a record that bridges sessions merges them (the merged-away sessions are deleted: a
// tombstone downstream on update). Kafka Streams' lateness rule and emit strategy apply.
import { TopologyError } from './errors.js'
import type { GraphBuilder } from './internals/graph/graph-builder.js'
import type { KGroupedStream } from './kgrouped-stream.js'
import { Materialized } from './materialized.js'
import { type Serde, Serdes } from './serdes.js'
import { type LateOutputSlot, WindowedKTable } from './windowed-ktable.js'
import { EmitStrategy } from './windows/emit-strategy.js'
import { SessionWindowAggregateProcessor } from './windows/internals/session-window-aggregate-processor.js'
import type { SessionWindows } from './windows/session-windows.js'
import { WindowedSerdes } from './windows/windowed-serdes.js'

const NONE: unique symbol = Symbol('no aggregate')

export class SessionWindowedKStream<K, V> {
  /** @internal Created by KGroupedStream.windowedBy(). */
  constructor(
    private readonly graph: GraphBuilder,
    private readonly grouped: KGroupedStream<K, V>,
    private readonly keySerde: Serde<K> | undefined,
    private readonly valueSerde: Serde<V> | undefined,
    readonly windows: SessionWindows,
    private readonly emit: EmitStrategy = EmitStrategy.onWindowUpdate(),
  ) {}

  /** On every update (default), or once per session when it closes (end < stream time - gap - grace). */
  emitStrategy(strategy: EmitStrategy): SessionWindowedKStream<K, V> {
    return new SessionWindowedKStream(
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
      (_key, left, right) => left + right,
      materialized,
      Serdes.Long(),
    )
  }

  /** The reducer also merges two sessions' aggregates, as in Kafka Streams. */
  reduce(
    reducer: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> = Materialized.with<K, V>(),
  ): WindowedKTable<K, V, V> {
    type A = V | typeof NONE
    const combine = (left: A, right: A): A =>
      left === NONE ? right : right === NONE ? left : reducer(left, right)
    return this.#aggregate<A>(
      'KSTREAM-REDUCE',
      () => NONE,
      (_key, value, aggregate) => combine(aggregate, value),
      (_key, left, right) => combine(left, right),
      materialized as Materialized<K, A>,
      this.valueSerde as Serde<A> | undefined,
    ) as unknown as WindowedKTable<K, V, V>
  }

  /** `merger` combines the aggregates of two sessions a record bridges. */
  aggregate<A>(
    initializer: () => A,
    aggregator: (key: K, value: V, aggregate: A) => A,
    merger: (key: K, left: A, right: A) => A,
    materialized: Materialized<K, A> = Materialized.with<K, A>(),
  ): WindowedKTable<K, A, V> {
    return this.#aggregate('KSTREAM-AGGREGATE', initializer, aggregator, merger, materialized, undefined)
  }

  #aggregate<A>(
    prefix: string,
    initializer: () => A,
    aggregator: (key: K, value: V, aggregate: A) => A,
    merger: (key: K, left: A, right: A) => A,
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
          `the retention of session store ${storeName} must be at least its inactivity gap plus grace (${windows.inactivityGapMs} + ${windows.graceMs} ms), got ${retentionMs}: raise Materialized.withRetention() or drop it`,
          { subject: storeName },
        ),
      )
    }
    const keySerde = materialized.keySerde ?? this.keySerde
    const valueSerde = materialized.valueSerde ?? defaultValueSerde
    graph.addStore({
      kind: 'session',
      name: storeName,
      keySerde: keySerde as Serde<unknown> | undefined,
      valueSerde: valueSerde as Serde<unknown> | undefined,
      cachingEnabled: materialized.cachingEnabled,
      loggingEnabled: materialized.loggingEnabled,
      changelogTopic: materialized.changelogTopic,
      // Emit final needs the store to keep a session one millisecond past gap + grace, until it closes.
      retentionMs: Math.max(retentionMs, emit === 'on-window-close' ? minimum + 1 : minimum),
      hint: `pass Materialized.as('${storeName}').withKeySerde(...).withValueSerde(...) (or Materialized.with(keySerde, valueSerde))`,
    })
    const name = graph.name(undefined, prefix)
    const late: LateOutputSlot = { name: undefined }
    graph.addProcessor(
      name,
      () =>
        new SessionWindowAggregateProcessor<K, V, A>({
          storeName,
          windows,
          initializer,
          aggregator,
          merger,
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
      keySerde && WindowedSerdes.sessionWindowed(keySerde),
      valueSerde,
      late,
      this.keySerde,
    )
  }
}
