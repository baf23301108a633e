// KStream.filter / filterNot: forwards the same record object when the predicate holds.
import type { Processor, ProcessorContext } from '../../processor.js'
import type { StreamRecord } from '../../stream-record.js'

export class FilterProcessor<K, V> implements Processor<K, V, K, V> {
  #context!: ProcessorContext<K, V>

  constructor(
    private readonly predicate: (key: K, value: V) => boolean,
    private readonly negate: boolean,
  ) {}

  init(context: ProcessorContext<K, V>): void {
    this.#context = context
  }

  process(record: StreamRecord<K, V>): void {
    if (this.predicate(record.key, record.value) !== this.negate) this.#context.forward(record)
  }
}
