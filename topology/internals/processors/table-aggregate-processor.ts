// KGroupedTable.aggregate / count / reduce: applies the subtractor for the old side of a change and the
// adder for the new side, so a group's value follows its members as they join and leave.
import { Change } from '../../change.js'
import type { Processor } from '../../processor.js'
import { StreamRecord } from '../../stream-record.js'
import type { InternalProcessorContext } from '../runtime/node-context.js'
import type { MeteredKeyValueStore } from '../state/metered-key-value-store.js'

export interface TableAggregation<K, V, A> {
  readonly initializer: () => A
  readonly adder: (key: K, value: V, aggregate: A) => A
  readonly subtractor: (key: K, value: V, aggregate: A) => A
}

export class TableAggregateProcessor<K, V, A> implements Processor<K, Change<V>, K, Change<A>> {
  #context!: InternalProcessorContext<K, Change<A>>
  #store!: MeteredKeyValueStore<K, A>
  #cached = false

  constructor(
    private readonly storeName: string,
    private readonly aggregation: TableAggregation<K, V, A>,
  ) {}

  init(context: InternalProcessorContext<K, Change<A>>): void {
    this.#context = context
    this.#store = context.getStateStore<MeteredKeyValueStore<K, A>>(this.storeName)
    this.#cached = this.#store.setFlushListener((key, newValue, oldValue, timestamp) =>
      context.forward(new StreamRecord(key, new Change(newValue, oldValue), timestamp)),
    )
  }

  process(record: StreamRecord<K, Change<V>>): void {
    const key = record.key
    if (key === null || key === undefined) return
    const { newValue, oldValue } = record.value
    const previous = this.#store.get(key)
    let aggregate = previous ?? this.aggregation.initializer()
    if (oldValue !== null) aggregate = this.aggregation.subtractor(key, oldValue, aggregate)
    if (newValue !== null) aggregate = this.aggregation.adder(key, newValue, aggregate)
    this.#store.put(key, aggregate)
    if (!this.#cached)
      this.#context.forward(new StreamRecord(key, new Change(aggregate, previous ?? null), record.timestamp))
  }
}
