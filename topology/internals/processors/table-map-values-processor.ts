// KTable.mapValues: maps both sides of a change, so downstream subtractors see the mapped old value.
import { Change } from '../../change.js'
import type { Processor, ProcessorContext } from '../../processor.js'
import type { StreamRecord } from '../../stream-record.js'

export class TableMapValuesProcessor<K, V, V2> implements Processor<K, Change<V>, K, Change<V2>> {
  #context!: ProcessorContext<K, Change<V2>>

  constructor(private readonly mapper: (value: V, key: K) => V2) {}

  init(context: ProcessorContext<K, Change<V2>>): void {
    this.#context = context
  }

  process(record: StreamRecord<K, Change<V>>): void {
    const { newValue, oldValue } = record.value
    const key = record.key
    this.#context.forward(
      record.withValue(
        new Change(
          newValue === null ? null : this.mapper(newValue, key),
          oldValue === null ? null : this.mapper(oldValue, key),
        ),
      ),
    )
  }
}
