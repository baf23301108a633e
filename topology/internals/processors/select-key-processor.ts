// KStream.selectKey: a new key, the value kept (key-changing).
import type { Processor, ProcessorContext } from '../../processor.js'
import { StreamRecord } from '../../stream-record.js'

export class SelectKeyProcessor<K, V, K2> implements Processor<K, V, K2, V> {
  #context!: ProcessorContext<K2, V>

  constructor(private readonly selector: (key: K, value: V) => K2) {}

  init(context: ProcessorContext<K2, V>): void {
    this.#context = context
  }

  process(record: StreamRecord<K, V>): void {
    this.#context.forward(
      new StreamRecord(
        this.selector(record.key, record.value),
        record.value,
        record.timestamp,
        record.headers,
      ),
    )
  }
}
