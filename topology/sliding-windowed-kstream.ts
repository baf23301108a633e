// A grouped stream windowed by SlidingWindows: count, reduce or aggregate per key into windows of
// `timeDifference` ms that exist only around records (Kafka Streams' SlidingWindowedKStream, processed by
// SlidingWindowAggregateProcessor). Results are keyed by Windowed<K> with [start, start + timeDifference],
// both ends inclusive; the store is a window store of size timeDifference. Retention follows Kafka's
// SlidingWindowStoreMaterializer: default and minimum 2 * timeDifference + grace, because a record reads
// the key's windows back to t - 2 * timeDifference to build its right window. As Kafka does, caching is
// off for emit-on-close (each window is emitted once, from the store, when it closes).
import type { GraphBuilder } from './internals/graph/graph-builder.js'
import type { KGroupedStream } from './kgrouped-stream.js'
import type { Serde } from './serdes.js'
import {
  type WindowFold,
  WindowStoreAggregations,
  type WindowStorePlan,
} from './window-store-aggregations.js'
import type { EmitStrategy } from './windows/emit-strategy.js'
import { SlidingWindowAggregateProcessor } from './windows/internals/sliding-window-aggregate-processor.js'
import type { SlidingWindows } from './windows/sliding-windows.js'

export class SlidingWindowedKStream<K, V> extends WindowStoreAggregations<K, V> {
  /** @internal Created by KGroupedStream.windowedBy(). */
  constructor(
    graph: GraphBuilder,
    grouped: KGroupedStream<K, V>,
    keySerde: Serde<K> | undefined,
    valueSerde: Serde<V> | undefined,
    readonly windows: SlidingWindows,
    emit?: EmitStrategy,
  ) {
    super(graph, grouped, keySerde, valueSerde, emit)
  }

  protected withEmit(strategy: EmitStrategy): this {
    return new SlidingWindowedKStream(
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
    const minimum = windows.defaultRetentionMs
    return {
      windowSizeMs: windows.timeDifferenceMs,
      minimumRetentionMs: minimum,
      // Windows of size 0 (timeDifference 0) end at the record: the store, which drops entries ending at
      // or before its observed end - retention, keeps them 1 ms longer, as Kafka's segmented store does.
      retentionFor: (ms) => Math.max(ms, windows.timeDifferenceMs === 0 ? minimum + 1 : minimum),
      retentionRule: `2 * timeDifference + grace (2 * ${windows.timeDifferenceMs} + ${windows.graceMs} ms)`,
      // Kafka's SlidingWindowStoreMaterializer: no cache in front of an emit-on-close store.
      cachingAllowed: this.emit !== 'on-window-close',
    }
  }

  protected processor<A>(fold: WindowFold<K, V, A>) {
    return new SlidingWindowAggregateProcessor<K, V, A>({ ...fold, windows: this.windows })
  }
}
