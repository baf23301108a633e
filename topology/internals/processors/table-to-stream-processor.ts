// KTable.toStream: the changelog stream of a table, a null value (tombstone) for a deleted key.
import type { Change } from '../../change.js'
import type { Processor, ProcessorContext } from '../../processor.js'
import type { StreamRecord } from '../../stream-record.js'

export class TableToStreamProcessor<K, V> implements Processor<K, Change<V>, K, V | null> {
  #context!: ProcessorContext<K, V | null>

  init(context: ProcessorContext<K, V | null>): void {
    this.#context = context
  }

  process(record: StreamRecord<K, Change<V>>): void {
    this.#context.forward(record.withValue(record.value.newValue))
  }
}
