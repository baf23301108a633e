// KGroupedStream.count / reduce / aggregate: folds each record into the key's value in the store. With a
// cache the store forwards the latest change per key at commit; without one the change is forwarded
// here, on every update. Records with a null key or value are skipped (as in Kafka Streams).

import { Change } from '../../change.js'
import type { Processor } from '../../processor.js'
import { StreamRecord } from '../../stream-record.js'
import type { InternalProcessorContext } from '../runtime/node-context.js'
import type { MeteredKeyValueStore } from '../state/metered-key-value-store.js'

/** Folds a value into the key's previous aggregate (undefined for a new key). */
export type Fold<K, V, A> = (key: K, value: V, previous: A | undefined) => A

export class StreamAggregateProcessor<K, V, A> implements Processor<K, V, K, Change<A>> {
  #context!: InternalProcessorContext<K, Change<A>>
  #store!: MeteredKeyValueStore<K, A>
  #cached = false

  constructor(
    private readonly storeName: string,
    private readonly fold: Fold<K, V, A>,
  ) {}

  init(context: InternalProcessorContext<K, Change<A>>): void {
    this.#context = context
    this.#store = context.getStateStore<MeteredKeyValueStore<K, A>>(this.storeName)
    this.#cached = this.#store.setFlushListener((key, newValue, oldValue, timestamp) =>
      context.forward(new StreamRecord(key, new Change(newValue, oldValue), timestamp)),
    )
  }

  process(record: StreamRecord<K, V>): void {
    const key = record.key
    if (key === null || key === undefined || record.value === null || record.value === undefined) return
    const store = this.#store
    const previous = store.get(key)
    const next = this.fold(key, record.value, previous)
    store.put(key, next)
    if (!this.#cached)
      this.#context.forward(new StreamRecord(key, new Change(next, previous ?? null), record.timestamp))
  }
}
