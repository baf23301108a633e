// KStream.map: a new key and value from each record (key-changing).
import type { Processor, ProcessorContext } from '../../processor.js'
import { type KeyValue, StreamRecord } from '../../stream-record.js'

export class MapProcessor<K, V, K2, V2> implements Processor<K, V, K2, V2> {
  #context!: ProcessorContext<K2, V2>

  constructor(private readonly mapper: (key: K, value: V) => KeyValue<K2, V2>) {}

  init(context: ProcessorContext<K2, V2>): void {
    this.#context = context
  }

  process(record: StreamRecord<K, V>): void {
    const [key, value] = this.mapper(record.key, record.value)
    this.#context.forward(new StreamRecord(key, value, record.timestamp, record.headers))
  }
}
