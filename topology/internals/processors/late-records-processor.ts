// The late-record output node of a windowed aggregation. The aggregate sends it LateRecord values by
// name; its results go to every child, this one included, so this node passes on only LateRecords.
import type { Processor, ProcessorContext } from '../../processor.js'
import type { StreamRecord } from '../../stream-record.js'
import { LateRecord } from '../../windows/internals/late-records.js'

export class LateRecordsProcessor<K, V> implements Processor<K, unknown, K, LateRecord<V>> {
  #context!: ProcessorContext<K, LateRecord<V>>

  init(context: ProcessorContext<K, LateRecord<V>>): void {
    this.#context = context
  }

  process(record: StreamRecord<K, unknown>): void {
    if (record.value instanceof LateRecord) this.#context.forward(record as StreamRecord<K, LateRecord<V>>)
  }
}
