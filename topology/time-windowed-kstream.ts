// A grouped stream windowed by TimeWindows (tumbling or hopping): count, reduce or aggregate per key and
// window into a window store, with Kafka Streams' lateness rule and emit strategy. The store keeps each
// aggregate with its latest record timestamp (ValueAndTimestamp) for the windows' retention.
import type { GraphBuilder } from './internals/graph/graph-builder.js'
import type { KGroupedStream } from './kgrouped-stream.js'
import type { Serde } from './serdes.js'
import {
  type WindowFold,
  WindowStoreAggregations,
  type WindowStorePlan,
} from './window-store-aggregations.js'
import type { EmitStrategy } from './windows/emit-strategy.js'
import { TimeWindowAggregateProcessor } from './windows/internals/time-window-aggregate-processor.js'
import type { TimeWindows } from './windows/time-windows.js'

export class TimeWindowedKStream<K, V> extends WindowStoreAggregations<K, V> {
  /** @internal Created by KGroupedStream.windowedBy(). */
  constructor(
    graph: GraphBuilder,
    grouped: KGroupedStream<K, V>,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
    readonly windows: TimeWindows,
    emit?: EmitStrategy,
  ) {
    super(graph, grouped, keySerde, valueSerde, emit)
  }

  protected withEmit(strategy: EmitStrategy): this {
    return new TimeWindowedKStream(
      this.graph,
      this.grouped,
      this.keySerde,
      this.valueSerde,
      this.windows,
      strategy,
    ) as this
  }

  protected storePlan(): WindowStorePlan {
    const { windows } = this
    return {
      windowSizeMs: windows.sizeMs,
      minimumRetentionMs: windows.defaultRetentionMs,
      retentionFor: (ms) => ms,
      retentionRule: `its window size plus grace (${windows.sizeMs} + ${windows.graceMs} ms)`,
      cachingAllowed: true,
    }
  }

  protected processor<A>(fold: WindowFold<K, V, A>) {
    return new TimeWindowAggregateProcessor<K, V, A>({ ...fold, windows: this.windows })
  }
}
