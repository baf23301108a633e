// KTable: a changelog stream seen as a table (latest value per key). Its nodes forward Change values (new
// and old), which is what lets a re-grouped aggregate subtract a row from the group it left. Each table
// also has a value getter (read by key, for joins): its store, or computed from its parents' getters.
import type { Change } from './change.js'
import { TopologyError } from './errors.js'
import type { GraphBuilder } from './internals/graph/graph-builder.js'
import { PassThroughProcessor } from './internals/processors/pass-through-processor.js'
import { TableFilterProcessor } from './internals/processors/table-filter-processor.js'
import { TableGroupByProcessor } from './internals/processors/table-group-by-processor.js'
import { TableMapValuesProcessor } from './internals/processors/table-map-values-processor.js'
import { TableMaterializeProcessor } from './internals/processors/table-materialize-processor.js'
import { TableSourceProcessor } from './internals/processors/table-source-processor.js'
import {
  type JoinPreserve,
  TableTableJoinProcessor,
} from './internals/processors/table-table-join-processor.js'
import { TableToStreamProcessor } from './internals/processors/table-to-stream-processor.js'
import {
  filterValueGetter,
  joinValueGetter,
  mapValuesValueGetter,
  storeValueGetter,
  type TableJoinKind,
  type TableValueGetterSupplier,
} from './internals/table/table-value-getter.js'
import { KGroupedTable } from './kgrouped-table.js'
import { KStream } from './kstream.js'
import { Materialized } from './materialized.js'
import type { Grouped, Named } from './options.js'
import type { Serde } from './serdes.js'
import type { KeyValue } from './stream-record.js'

/** Named, or Materialized (then the node is named after nothing and the store as the Materialized says). */
type NamedOrMaterialized<K, V> = Named | Materialized<K, V>

function split<K, V>(
  first: NamedOrMaterialized<K, V> | undefined,
  second: Materialized<K, V> | undefined,
): [Named | undefined, Materialized<K, V> | undefined] {
  return first instanceof Materialized ? [undefined, first] : [first, second]
}

export class KTable<K, V> {
  /** @internal How a join reads this table by key; its stores are connected to the joining processor. */
  readonly valueGetterSupplier: TableValueGetterSupplier<K, V>

  /** @internal */
  constructor(
    private readonly graph: GraphBuilder,
    /** @internal */ readonly nodeName: string,
    /** The store holding this table, for driver.getKeyValueStore(); undefined when not materialized. */
    readonly queryableStoreName: string | undefined,
    /** @internal */ readonly keySerde: Serde<K> | undefined,
    /** @internal */ readonly valueSerde: Serde<V> | undefined,
    /** @internal Required when the table has no store of its own. */
    valueGetterSupplier?: TableValueGetterSupplier<K, V>,
  ) {
    if (valueGetterSupplier === undefined && queryableStoreName === undefined)
      throw new TopologyError(
        'INVALID_ARGUMENT',
        `KTable ${nodeName}: a table without a store needs a value getter`,
      )
    this.valueGetterSupplier = valueGetterSupplier ?? storeValueGetter<K, V>(queryableStoreName as string)
  }

  /** With a Materialized, the filtered table gets its own store (queryable, cached, logged). */
  filter(
    predicate: (key: K, value: V) => boolean,
    named?: NamedOrMaterialized<K, V>,
    materialized?: Materialized<K, V>,
  ): KTable<K, V> {
    return this.#filter(predicate, false, ...split(named, materialized))
  }

  filterNot(
    predicate: (key: K, value: V) => boolean,
    named?: NamedOrMaterialized<K, V>,
    materialized?: Materialized<K, V>,
  ): KTable<K, V> {
    return this.#filter(predicate, true, ...split(named, materialized))
  }

  mapValues<V2>(
    mapper: (value: V, key: K) => V2,
    named?: NamedOrMaterialized<K, V2>,
    materialized?: Materialized<K, V2>,
  ): KTable<K, V2> {
    const [n, m] = split(named, materialized)
    const name = this.graph.name(n?.name, 'KTABLE-MAPVALUES')
    this.graph.addProcessor(name, () => new TableMapValuesProcessor<K, V, V2>(mapper), [this.nodeName])
    if (m !== undefined) return materializeTable(this.graph, name, m, this.keySerde, undefined, 'change')
    const getter = mapValuesValueGetter(this.valueGetterSupplier, mapper)
    return new KTable<K, V2>(this.graph, name, undefined, this.keySerde, undefined, getter)
  }

  /**
   * Inner join on the key: a row exists while both tables have one. Each side's update looks up the
   * other side's current value; the result forwards the new and the old joined value.
   */
  join<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V, otherValue: VO, key: K) => VR,
    named?: NamedOrMaterialized<K, VR>,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR> {
    const j = joiner as (value: V | null, otherValue: VO | null, key: K) => VR
    return this.#join(other, 'inner', j, ...split(named, materialized))
  }

  /** Left join: every row of this table, joined with the other's value or null. */
  leftJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V, otherValue: VO | null, key: K) => VR,
    named?: NamedOrMaterialized<K, VR>,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR> {
    const j = joiner as (value: V | null, otherValue: VO | null, key: K) => VR
    return this.#join(other, 'left', j, ...split(named, materialized))
  }

  /** Outer join: a row while either table has one, the missing side null. */
  outerJoin<VO, VR>(
    other: KTable<K, VO>,
    joiner: (value: V | null, otherValue: VO | null, key: K) => VR,
    named?: NamedOrMaterialized<K, VR>,
    materialized?: Materialized<K, VR>,
  ): KTable<K, VR> {
    return this.#join(other, 'outer', joiner, ...split(named, materialized))
  }

  /** The table's updates as a stream; a deleted key comes as a null value (a tombstone). */
  toStream(named?: Named): KStream<K, V | null> {
    const name = this.graph.name(named?.name, 'KTABLE-TOSTREAM')
    this.graph.addProcessor(name, () => new TableToStreamProcessor<K, V>(), [this.nodeName])
    return new KStream<K, V | null>(
      this.graph,
      name,
      this.keySerde,
      this.valueSerde as Serde<V | null> | undefined,
      false,
    )
  }

  /**
   * The table's updates as a stream of changes: each key's new value with the value it replaced (null
   * when it had none; a deleted key comes with a null newValue). What toStream() gives, plus the old
   * value, so that a step that reacts to what changed (an agent leaving a capability's count for
   * another) needs no store of its own to remember the previous value. Under a record cache, one
   * change per key and commit interval, from the value before the interval to the last one. The value
   * has no serde: map it before a repartition or an output.
   */
  toChangeStream(named?: Named): KStream<K, Change<V>> {
    const name = this.graph.name(named?.name, 'KTABLE-TOCHANGESTREAM')
    this.graph.addProcessor(name, () => new PassThroughProcessor<K, Change<V>>(), [this.nodeName])
    return new KStream<K, Change<V>>(this.graph, name, this.keySerde, undefined, false)
  }

  /** Re-keys each row (for example agents by team); aggregate the result with adder and subtractor. */
  groupBy<K2, V2>(
    selector: (key: K, value: V) => KeyValue<K2, V2>,
    grouped: Grouped<K2, V2> = {},
  ): KGroupedTable<K2, V2> {
    const name = this.graph.name(
      grouped.name === undefined ? undefined : `${grouped.name}-select`,
      'KTABLE-SELECT',
    )
    this.graph.addProcessor<K, Change<V>, K2, Change<V2>>(name, () => new TableGroupByProcessor(selector), [
      this.nodeName,
    ])
    return new KGroupedTable<K2, V2>(this.graph, name, grouped.keySerde, grouped.valueSerde, grouped.name)
  }

  #filter(
    predicate: (key: K, value: V) => boolean,
    negate: boolean,
    named: Named | undefined,
    materialized: Materialized<K, V> | undefined,
  ): KTable<K, V> {
    const name = this.graph.name(named?.name, 'KTABLE-FILTER')
    this.graph.addProcessor(name, () => new TableFilterProcessor<K, V>(predicate, negate), [this.nodeName])
    if (materialized !== undefined)
      return materializeTable(this.graph, name, materialized, this.keySerde, this.valueSerde, 'change')
    const getter = filterValueGetter(this.valueGetterSupplier, predicate, negate)
    return new KTable<K, V>(this.graph, name, undefined, this.keySerde, this.valueSerde, getter)
  }

  // Kafka Streams' layout: KTABLE-JOINTHIS and KTABLE-JOINOTHER, one per side, each connected to the
  // other side's stores, merged by KTABLE-MERGE (named `<name>-join-this`, `-join-other`, `<name>`).
  #join<VO, VR>(
    other: KTable<K, VO>,
    kind: TableJoinKind,
    joiner: (value: V | null, otherValue: VO | null, key: K) => VR,
    named: Named | undefined,
    materialized: Materialized<K, VR> | undefined,
  ): KTable<K, VR> {
    const graph = this.graph
    const base = named?.name
    const [thisPreserve, otherPreserve]: [JoinPreserve, JoinPreserve] =
      kind === 'inner' ? ['none', 'none'] : kind === 'left' ? ['this', 'other'] : ['both', 'both']
    const thisGetter = this.valueGetterSupplier
    const otherGetter = other.valueGetterSupplier
    const thisName = graph.name(base === undefined ? undefined : `${base}-join-this`, 'KTABLE-JOINTHIS')
    graph.addProcessor(
      thisName,
      () => new TableTableJoinProcessor<K, V, VO, VR>(otherGetter, thisPreserve, joiner),
      [this.nodeName],
      otherGetter.storeNames,
    )
    const otherName = graph.name(base === undefined ? undefined : `${base}-join-other`, 'KTABLE-JOINOTHER')
    graph.addProcessor(
      otherName,
      () =>
        new TableTableJoinProcessor<K, VO, V, VR>(thisGetter, otherPreserve, (o, t, k) => joiner(t, o, k)),
      [other.nodeName],
      thisGetter.storeNames,
    )
    const merge = graph.name(base, 'KTABLE-MERGE')
    graph.addProcessor(merge, () => new PassThroughProcessor<K, Change<VR>>(), [thisName, otherName])
    graph.copartition([this.nodeName, other.nodeName])
    const keySerde = this.keySerde ?? other.keySerde
    if (materialized !== undefined)
      return materializeTable(graph, merge, materialized, keySerde, undefined, 'change')
    const getter = joinValueGetter(thisGetter, otherGetter, kind, joiner)
    return new KTable<K, VR>(graph, merge, undefined, keySerde, undefined, getter)
  }
}

/**
 * @internal A store for the table whose updates `parent` forwards: plain values from a stream
 * (KStream.toTable) or changes from a table operator. Returns the materialized table.
 */
export function materializeTable<K, V>(
  graph: GraphBuilder,
  parent: string,
  materialized: Materialized<K, V>,
  inheritedKeySerde: Serde<K> | undefined,
  inheritedValueSerde: Serde<V> | undefined,
  input: 'stream' | 'change',
  processorName?: string,
): KTable<K, V> {
  const storeName = materialized.storeName ?? graph.name(undefined, 'KTABLE-STATE-STORE')
  const keySerde = materialized.keySerde ?? inheritedKeySerde
  const valueSerde = materialized.valueSerde ?? inheritedValueSerde
  graph.addStore({
    name: storeName,
    keySerde: keySerde as Serde<unknown> | undefined,
    valueSerde: valueSerde as Serde<unknown> | undefined,
    cachingEnabled: materialized.cachingEnabled,
    loggingEnabled: materialized.loggingEnabled,
    changelogTopic: materialized.changelogTopic,
    hint: `pass Materialized.as('${storeName}').withKeySerde(...).withValueSerde(...) (or Materialized.with(keySerde, valueSerde))`,
  })
  const name = graph.name(processorName, input === 'stream' ? 'KSTREAM-TOTABLE' : 'KTABLE-MATERIALIZE')
  if (input === 'stream')
    graph.addProcessor(name, () => new TableSourceProcessor<K, V>(storeName), [parent], [storeName])
  else graph.addProcessor(name, () => new TableMaterializeProcessor<K, V>(storeName), [parent], [storeName])
  return new KTable<K, V>(graph, name, storeName, keySerde, valueSerde)
}
