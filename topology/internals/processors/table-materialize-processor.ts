// Materializes a derived table (KTable.filter/mapValues with a Materialized): keeps the new side of each
// change in the store and forwards the change with the value the store held, once per key per commit
// interval through the cache, so the derived table can be queried and its updates deduplicated.
import { Change } from '../../change.js'
import type { Processor } from '../../processor.js'
import { StreamRecord } from '../../stream-record.js'
import type { InternalProcessorContext } from '../runtime/node-context.js'
import type { MeteredKeyValueStore } from '../state/metered-key-value-store.js'

export class TableMaterializeProcessor<K, V> implements Processor<K, Change<V>, K, Change<V>> {
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

  process(record: StreamRecord<K, Change<V>>): void {
    const key = record.key
    if (key === null || key === undefined) return
    const value = record.value.newValue
    const old = this.#store.get(key) ?? null
    if (value === null && old === null) return
    this.#store.put(key, value)
    if (!this.#cached) this.#context.forward(record.withValue(new Change(value, old)))
  }
}
