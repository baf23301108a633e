// The result of a windowed aggregation: a KTable keyed by Windowed<K>, plus the aggregation's late-record
// output. Records too late for every window they belong to change nothing; they are counted (see the
// processors' lateRecordCount) and, once lateRecords() is called, forwarded there with the reason.
// Without lateRecords() they go nowhere else: call it to keep them (e.g. .lateRecords().to('late')).
import type { GraphBuilder } from './internals/graph/graph-builder.js'
import { LateRecordsProcessor } from './internals/processors/late-records-processor.js'
import { KStream } from './kstream.js'
import { KTable } from './ktable.js'
import type { Named } from './options.js'
import type { Serde } from './serdes.js'
import type { LateRecord } from './windows/internals/late-records.js'
import type { Windowed } from './windows/window.js'

/** @internal Where the aggregate sends late records; read when the task creates the processor. */
export interface LateOutputSlot {
  name: string | undefined
}

export class WindowedKTable<K, V, VIn> extends KTable<Windowed<K>, V> {
  readonly #graph: GraphBuilder
  readonly #late: LateOutputSlot
  readonly #inputKeySerde: Serde<K> | undefined
  #lateStream: KStream<K, LateRecord<VIn>> | undefined

  /** @internal Created by the windowed streams' aggregations. */
  constructor(
    graph: GraphBuilder,
    nodeName: string,
    storeName: string,
    keySerde: Serde<Windowed<K>> | undefined,
    valueSerde: Serde<V> | undefined,
    late: LateOutputSlot,
    inputKeySerde: Serde<K> | undefined,
  ) {
    super(graph, nodeName, storeName, keySerde, valueSerde)
    this.#graph = graph
    this.#late = late
    this.#inputKeySerde = inputKeySerde
  }

  /**
   * The input records that were too late for every window they belong to, keyed as they came in, each a
   * LateRecord with the original value and the reason. Calling it again returns the same stream.
   */
  lateRecords(named?: Named): KStream<K, LateRecord<VIn>> {
    if (this.#lateStream !== undefined) return this.#lateStream
    const name = this.#graph.name(named?.name, 'KSTREAM-LATE-RECORDS')
    this.#graph.addProcessor(name, () => new LateRecordsProcessor<K, VIn>(), [this.nodeName])
    this.#late.name = name
    this.#lateStream = new KStream<K, LateRecord<VIn>>(
      this.#graph,
      name,
      this.#inputKeySerde,
      undefined,
      false,
    )
    return this.#lateStream
  }
}
