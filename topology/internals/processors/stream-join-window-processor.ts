// The first node of each side of a stream-stream join (Kafka Streams' KStreamJoinWindow): forwards the
// record to the side's join processor, then keeps it in the side's window store for the other side to
// find. Forwarding first means a record never joins itself in a self-join's own side, as in Kafka.
// Records of one key and timestamp are kept as a list (Kafka's store retains duplicates); null keys and
// null values are never kept.
import type { Processor, ProcessorContext } from '../../processor.js'
import type { StreamRecord } from '../../stream-record.js'
import type { WindowStore } from '../../windows/window-store.js'

export class StreamJoinWindowProcessor<K, V> implements Processor<K, V, K, V> {
  #context!: ProcessorContext<K, V>
  #store!: WindowStore<K, V[]>

  constructor(private readonly storeName: string) {}

  init(context: ProcessorContext<K, V>): void {
    this.#context = context
    this.#store = context.getStateStore<WindowStore<K, V[]>>(this.storeName)
  }

  process(record: StreamRecord<K, V>): void {
    this.#context.forward(record)
    const { key, value, timestamp } = record
    if (key === null || key === undefined || value === null || value === undefined) return
    const existing = this.#store.fetch(key, timestamp)
    this.#store.put(key, existing === undefined ? [value] : [...existing, value], timestamp)
  }
}
