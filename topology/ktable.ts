// KTable: a changelog stream seen as a table (latest value per key). Its nodes forward Change values (new
// and old), which is what lets a re-grouped aggregate subtract a row from the group it left.
import type { Change } from './change.js'
import type { GraphBuilder } from './internals/graph/graph-builder.js'
import { TableFilterProcessor } from './internals/processors/table-filter-processor.js'
import { TableGroupByProcessor } from './internals/processors/table-group-by-processor.js'
import { TableMapValuesProcessor } from './internals/processors/table-map-values-processor.js'
import { TableToStreamProcessor } from './internals/processors/table-to-stream-processor.js'
import { KGroupedTable } from './kgrouped-table.js'
import { KStream } from './kstream.js'
import type { Grouped, Named } from './options.js'
import type { Serde } from './serdes.js'
import type { KeyValue } from './stream-record.js'

export class KTable<K, V> {
  /** @internal */
  constructor(
    private readonly graph: GraphBuilder,
    /** @internal */ readonly nodeName: string,
    /** The store holding this table, for driver.getKeyValueStore(); undefined when not materialized. */
    readonly queryableStoreName: string | undefined,
    /** @internal */ readonly keySerde: Serde<K> | undefined,
    /** @internal */ readonly valueSerde: Serde<V> | undefined,
  ) {}

  filter(predicate: (key: K, value: V) => boolean, named?: Named): KTable<K, V> {
    const name = this.graph.name(named?.name, 'KTABLE-FILTER')
    this.graph.addProcessor(name, () => new TableFilterProcessor<K, V>(predicate, false), [this.nodeName])
    return new KTable<K, V>(this.graph, name, undefined, this.keySerde, this.valueSerde)
  }

  filterNot(predicate: (key: K, value: V) => boolean, named?: Named): KTable<K, V> {
    const name = this.graph.name(named?.name, 'KTABLE-FILTER')
    this.graph.addProcessor(name, () => new TableFilterProcessor<K, V>(predicate, true), [this.nodeName])
    return new KTable<K, V>(this.graph, name, undefined, this.keySerde, this.valueSerde)
  }

  mapValues<V2>(mapper: (value: V, key: K) => V2, named?: Named): KTable<K, V2> {
    const name = this.graph.name(named?.name, 'KTABLE-MAPVALUES')
    this.graph.addProcessor(name, () => new TableMapValuesProcessor<K, V, V2>(mapper), [this.nodeName])
    return new KTable<K, V2>(this.graph, name, undefined, this.keySerde, undefined)
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
}
