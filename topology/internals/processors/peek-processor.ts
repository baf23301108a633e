// KStream.peek: a side effect per record (logging, metrics); forwards the record unchanged.
import type { Processor, ProcessorContext } from '../../processor.js'
import type { StreamRecord } from '../../stream-record.js'

export class PeekProcessor<K, V> implements Processor<K, V, K, V> {
  #context!: ProcessorContext<K, V>

  constructor(private readonly action: (key: K, value: V) => void) {}

  init(context: ProcessorContext<K, V>): void {
    this.#context = context
  }

  process(record: StreamRecord<K, V>): void {
    this.action(record.key, record.value)
    this.#context.forward(record)
  }
}
