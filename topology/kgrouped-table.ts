// KGroupedTable: a re-keyed table ready for aggregate / count / reduce with an adder and a subtractor.
// The changes always go through a repartition topic, as a table's new group may live on another task.
import type { Change } from './change.js'
import type { GraphBuilder } from './internals/graph/graph-builder.js'
import {
  TableAggregateProcessor,
  type TableAggregation,
} from './internals/processors/table-aggregate-processor.js'
import { changeSerde } from './internals/serde/change-serde.js'
import { KTable } from './ktable.js'
import { Materialized } from './materialized.js'
import { type Serde, Serdes } from './serdes.js'

export class KGroupedTable<K, V> {
  // Several aggregations of one grouped table share one repartition topic.
  #repartitionSource: string | undefined

  /** @internal */
  constructor(
    private readonly graph: GraphBuilder,
    private readonly nodeName: string,
    private readonly keySerde: Serde<K> | undefined,
    private readonly valueSerde: Serde<V> | undefined,
    private readonly groupedName: string | undefined,
  ) {}

  aggregate<A>(
    initializer: () => A,
    adder: (key: K, value: V, aggregate: A) => A,
    subtractor: (key: K, value: V, aggregate: A) => A,
    materialized: Materialized<K, A> = Materialized.with<K, A>(),
  ): KTable<K, A> {
    return this.#aggregate('KTABLE-AGGREGATE', { initializer, adder, subtractor }, materialized, undefined)
  }

  count(materialized: Materialized<K, number> = Materialized.with<K, number>()): KTable<K, number> {
    const aggregation: TableAggregation<K, V, number> = {
      initializer: () => 0,
      adder: (_k, _v, n) => n + 1,
      subtractor: (_k, _v, n) => n - 1,
    }
    return this.#aggregate('KTABLE-AGGREGATE', aggregation, materialized, Serdes.Long())
  }

  /** adder(aggregate, value) and subtractor(aggregate, value); a group starts from its first value. */
  reduce(
    adder: (aggregate: V, value: V) => V,
    subtractor: (aggregate: V, value: V) => V,
    materialized: Materialized<K, V> = Materialized.with<K, V>(),
  ): KTable<K, V> {
    const none = Symbol('none')
    const aggregation: TableAggregation<K, V, V> = {
      initializer: () => none as unknown as V,
      adder: (_k, value, aggregate) => ((aggregate as unknown) === none ? value : adder(aggregate, value)),
      subtractor: (_k, value, aggregate) => subtractor(aggregate, value),
    }
    return this.#aggregate('KTABLE-REDUCE', aggregation, materialized, this.valueSerde)
  }

  #aggregate<A>(
    prefix: string,
    aggregation: TableAggregation<K, V, A>,
    materialized: Materialized<K, A>,
    defaultValueSerde: Serde<A> | undefined,
  ): KTable<K, A> {
    const graph = this.graph
    const storeName = materialized.storeName ?? graph.name(undefined, `${prefix}-STATE-STORE`)
    const valueSerde = this.valueSerde
    this.#repartitionSource ??= graph.addRepartition(this.nodeName, this.groupedName ?? storeName, {
      keySerde: this.keySerde as Serde<unknown> | undefined,
      valueSerde: valueSerde === undefined ? undefined : (changeSerde(valueSerde) as Serde<unknown>),
      wrapValueSerde: (serde) => changeSerde(serde) as Serde<unknown>,
      hint: 'KTable.groupBy() re-keys through a repartition topic: pass groupBy(selector, { keySerde, valueSerde })',
    })
    const keySerde = materialized.keySerde ?? this.keySerde
    const storeValueSerde = materialized.valueSerde ?? defaultValueSerde
    graph.addStore({
      name: storeName,
      keySerde: keySerde as Serde<unknown> | undefined,
      valueSerde: storeValueSerde as Serde<unknown> | undefined,
      cachingEnabled: materialized.cachingEnabled,
      loggingEnabled: materialized.loggingEnabled,
      changelogTopic: materialized.changelogTopic,
      hint: `pass Materialized.as('${storeName}').withKeySerde(...).withValueSerde(...)`,
    })
    const name = graph.name(undefined, prefix)
    graph.addProcessor<K, Change<V>, K, Change<A>>(
      name,
      () => new TableAggregateProcessor<K, V, A>(storeName, aggregation),
      [this.#repartitionSource],
      [storeName],
    )
    return new KTable<K, A>(graph, name, storeName, keySerde, storeValueSerde)
  }
}
