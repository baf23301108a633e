// KTable.filter: a value that fails the predicate becomes absent, on both sides of the change, so that a
// row leaving the filter is seen downstream as a deletion.
import { Change } from '../../change.js'
import type { Processor, ProcessorContext } from '../../processor.js'
import type { StreamRecord } from '../../stream-record.js'

export class TableFilterProcessor<K, V> implements Processor<K, Change<V>, K, Change<V>> {
  #context!: ProcessorContext<K, Change<V>>

  constructor(
    private readonly predicate: (key: K, value: V) => boolean,
    private readonly negate: boolean,
  ) {}

  init(context: ProcessorContext<K, Change<V>>): void {
    this.#context = context
  }

  process(record: StreamRecord<K, Change<V>>): void {
    const { newValue, oldValue } = record.value
    const key = record.key
    const newKept = newValue !== null && this.predicate(key, newValue) !== this.negate ? newValue : null
    const oldKept = oldValue !== null && this.predicate(key, oldValue) !== this.negate ? oldValue : null
    if (newKept === null && oldKept === null) return
    this.#context.forward(record.withValue(new Change(newKept, oldKept)))
  }
}
