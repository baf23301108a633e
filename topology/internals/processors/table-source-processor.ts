// builder.table(): materializes a topic as a table (a null value deletes the key) and forwards each change
// with the value it replaces; through the cache, once per key per commit interval.
import { Change } from '../../change.js'
import type { Processor } from '../../processor.js'
import { StreamRecord } from '../../stream-record.js'
import type { InternalProcessorContext } from '../runtime/node-context.js'
import type { MeteredKeyValueStore } from '../state/metered-key-value-store.js'

export class TableSourceProcessor<K, V> implements Processor<K, V | null, K, Change<V>> {
  #context!: InternalProcessorContext<K, Change<V>>
  #store!: MeteredKeyValueStore<K, V>
  #cached = false

  constructor(private readonly storeName: string) {}

  init(context: InternalProcessorContext<K, Change<V>>): void {
    this.#context = context
    this.#store = context.getStateStore<MeteredKeyValueStore<K, V>>(this.storeName)
    this.#cached = this.#store.setFlushListener((key, newValue, oldValue, timestamp) =>
      context.forward(new StreamRecord(key, new Change(newValue, oldValue), timestamp)),
    )
  }

  process(record: StreamRecord<K, V | null>): void {
    const key = record.key
    if (key === null || key === undefined) return
    const value = record.value ?? null
    const old = this.#store.get(key) ?? null
    // A tombstone for a key the table does not have changes nothing in the store, but without a cache
    // Kafka Streams' KTableSource still forwards Change(null, null): a join's result row is re-sent, a
    // toStream() emits the tombstone. Through the cache it forwards nothing, as Kafka's cache does not.
    if (value === null && old === null) {
      if (!this.#cached)
        this.#context.forward(
          new StreamRecord(key, new Change<V>(null, null), record.timestamp, record.headers),
        )
      return
    }
    this.#store.put(key, value)
    if (!this.#cached)
      this.#context.forward(new StreamRecord(key, new Change(value, old), record.timestamp, record.headers))
  }
}
