// Forwards every record: the node of a merge and of each split branch, so that they have a name in the
// graph (and in describe()) without doing any work.
import type { Processor, ProcessorContext } from '../../processor.js'
import type { StreamRecord } from '../../stream-record.js'

export class PassThroughProcessor<K, V> implements Processor<K, V, K, V> {
  #context!: ProcessorContext<K, V>

  init(context: ProcessorContext<K, V>): void {
    this.#context = context
  }

  process(record: StreamRecord<K, V>): void {
    this.#context.forward(record)
  }
}
