// What time- and sliding-windowed streams share: count, reduce and aggregate into a window store that
// keeps each aggregate with its latest record timestamp, the emit strategy, the retention check and the
// windowed result table. Each subclass says only how its windows are stored and which processor folds
// records into them.

import type { Change } from './change.js'
import { TopologyError } from './errors.js'
import type { GraphBuilder } from './internals/graph/graph-builder.js'
import type { KGroupedStream } from './kgrouped-stream.js'
import { Materialized } from './materialized.js'
import type { Processor } from './processor.js'
import { type Serde, Serdes } from './serdes.js'
import { type LateOutputSlot, WindowedKTable } from './windowed-ktable.js'
import { EmitStrategy } from './windows/emit-strategy.js'
import { valueAndTimestampSerde } from './windows/internals/value-and-timestamp.js'
import type { Windowed } from './windows/window.js'
import { WindowedSerdes } from './windows/windowed-serdes.js'

// Reduce starts from "no aggregate yet"; the sentinel never reaches a store or a user function.
const NONE: unique symbol = Symbol('no aggregate')

/** The options every window-store aggregate processor takes. */
export interface WindowFold<K, V, A> {
  readonly storeName: string
  readonly initializer: () => A
  readonly aggregator: (key: K, value: V, aggregate: A) => A
  readonly emit: EmitStrategy
  readonly lateChildName: string | undefined
}

/** How a kind of window is stored. */
export interface WindowStorePlan {
  readonly windowSizeMs: number
  /** Default and minimum retention. */
  readonly minimumRetentionMs: number
  /** What the store keeps beyond the retention asked for (e.g. 1 ms for windows of size 0). */
  readonly retentionFor: (retentionMs: number) => number
  /** The retention rule in words, for the build error. */
  readonly retentionRule: string
  readonly cachingAllowed: boolean
}

export abstract class WindowStoreAggregations<K, V> {
  /** @internal Created by KGroupedStream.windowedBy(). */
  constructor(
    protected readonly graph: GraphBuilder,
    protected readonly grouped: KGroupedStream<K, V>,
    protected readonly keySerde: Serde<K> | undefined,
    protected readonly valueSerde: Serde<V> | undefined,
    protected readonly emit: EmitStrategy = EmitStrategy.onWindowUpdate(),
  ) {}

  protected abstract withEmit(strategy: EmitStrategy): this
  protected abstract storePlan(): WindowStorePlan
  protected abstract processor<A>(fold: WindowFold<K, V, A>): Processor<K, V, Windowed<K>, Change<A>>

  /** On every update (default), or once per window when it closes (Kafka Streams' emit final). */
  emitStrategy(strategy: EmitStrategy): this {
    return this.withEmit(strategy)
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
    const { graph, emit } = this
    const plan = this.storePlan()
    const storeName = materialized.storeName ?? graph.name(undefined, `${prefix}-STATE-STORE`)
    const parent = this.grouped.aggregationSource(storeName)
    const retentionMs = materialized.retentionMs ?? plan.minimumRetentionMs
    if (retentionMs < plan.minimumRetentionMs) {
      graph.problem(
        new TopologyError(
          'INVALID_ARGUMENT',
          `the retention of window store ${storeName} must be at least ${plan.retentionRule}, got ${retentionMs}: raise Materialized.withRetention() or drop it`,
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
      cachingEnabled: materialized.cachingEnabled && plan.cachingAllowed,
      loggingEnabled: materialized.loggingEnabled,
      changelogTopic: materialized.changelogTopic,
      windowSizeMs: plan.windowSizeMs,
      retentionMs: plan.retentionFor(Math.max(retentionMs, plan.minimumRetentionMs)),
      hint: `pass Materialized.as('${storeName}').withKeySerde(...).withValueSerde(...) (or Materialized.with(keySerde, valueSerde))`,
    })
    const name = graph.name(undefined, prefix)
    const late: LateOutputSlot = { name: undefined }
    graph.addProcessor(
      name,
      () => this.processor<A>({ storeName, initializer, aggregator, emit, lateChildName: late.name }),
      [parent],
      [storeName],
    )
    return new WindowedKTable<K, A, V>(
      graph,
      name,
      storeName,
      keySerde && WindowedSerdes.timeWindowed(keySerde, plan.windowSizeMs),
      valueSerde,
      late,
      this.keySerde,
    )
  }
}
