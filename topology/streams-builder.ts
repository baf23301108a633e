// The entry of the DSL: reads topics as streams or tables, adds stores for custom processors, and builds
// the Topology, where every invalid use found along the way is reported at once.
import { buildTopologyGraph } from './internals/graph/build-topology.js'
import { GraphBuilder } from './internals/graph/graph-builder.js'
import { validateName } from './internals/graph/names.js'
import { TableSourceProcessor } from './internals/processors/table-source-processor.js'
import { KStream } from './kstream.js'
import { KTable } from './ktable.js'
import { Materialized } from './materialized.js'
import type { Consumed } from './options.js'
import type { TimestampExtractor } from './record-handlers.js'
import type { Serde } from './serdes.js'
import type { KeyValueStoreBuilder } from './stores.js'
import { Topology } from './topology.js'

export interface StreamsBuilderOptions {
  /** Used wherever a key serde is needed and none was given or inherited. */
  readonly defaultKeySerde?: Serde<unknown>
  readonly defaultValueSerde?: Serde<unknown>
}

export class StreamsBuilder {
  readonly #graph = new GraphBuilder()

  constructor(private readonly options: StreamsBuilderOptions = {}) {}

  stream<K, V>(topics: string | readonly string[], consumed: Consumed<K, V> = {}): KStream<K, V> {
    const list = typeof topics === 'string' ? [topics] : [...topics]
    for (const topic of list) validateName(topic, 'Topic')
    const name = this.#graph.name(consumed.name, 'KSTREAM-SOURCE')
    this.#graph.addSource(
      name,
      list,
      false,
      {
        keySerde: consumed.keySerde as Serde<unknown> | undefined,
        valueSerde: consumed.valueSerde as Serde<unknown> | undefined,
        hint: `pass them to builder.stream('${list.join("', '")}', { keySerde, valueSerde })`,
      },
      consumed.timestampExtractor as TimestampExtractor<unknown, unknown> | undefined,
    )
    return new KStream<K, V>(this.#graph, name, consumed.keySerde, consumed.valueSerde, false)
  }

  /** A topic read as a table, materialized in a store (`<topic>-STATE-STORE-...` unless named). */
  table<K, V>(
    topic: string,
    consumed: Consumed<K, V> = {},
    materialized: Materialized<K, V> = Materialized.with<K, V>(),
  ): KTable<K, V> {
    validateName(topic, 'Topic')
    const graph = this.#graph
    const sourceName = graph.name(consumed.name, 'KSTREAM-SOURCE')
    graph.addSource(
      sourceName,
      [topic],
      false,
      {
        keySerde: consumed.keySerde as Serde<unknown> | undefined,
        valueSerde: consumed.valueSerde as Serde<unknown> | undefined,
        hint: `pass them to builder.table('${topic}', { keySerde, valueSerde })`,
      },
      consumed.timestampExtractor as TimestampExtractor<unknown, unknown> | undefined,
    )
    const storeName = materialized.storeName ?? graph.name(undefined, `${topic}-STATE-STORE`)
    const keySerde = materialized.keySerde ?? consumed.keySerde
    const valueSerde = materialized.valueSerde ?? consumed.valueSerde
    graph.addStore({
      name: storeName,
      keySerde: keySerde as Serde<unknown> | undefined,
      valueSerde: valueSerde as Serde<unknown> | undefined,
      cachingEnabled: materialized.cachingEnabled,
      loggingEnabled: materialized.loggingEnabled,
      changelogTopic: materialized.changelogTopic,
      hint: `pass serdes to builder.table('${topic}', { keySerde, valueSerde })`,
    })
    const name = graph.name(undefined, 'KTABLE-SOURCE')
    graph.addProcessor(name, () => new TableSourceProcessor<K, V>(storeName), [sourceName], [storeName])
    return new KTable<K, V>(graph, name, storeName, keySerde, valueSerde)
  }

  /** A store for custom processors: connect it with KStream.process(supplier, storeName). */
  addStateStore<K, V>(store: KeyValueStoreBuilder<K, V>): this {
    this.#graph.addStore({
      name: store.name,
      keySerde: store.keySerde as Serde<unknown> | undefined,
      valueSerde: store.valueSerde as Serde<unknown> | undefined,
      cachingEnabled: store.cachingEnabled,
      loggingEnabled: store.loggingEnabled,
      hint: `pass serdes to Stores.keyValueStoreBuilder('${store.name}', keySerde, valueSerde)`,
    })
    return this
  }

  /** Checks the topology; throws a TopologyBuildError listing every problem, each with its code. */
  build(): Topology {
    return new Topology(buildTopologyGraph(this.#graph, this.options))
  }
}
