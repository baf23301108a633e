// KStream.flatMap and flatMapValues: zero or more records per record. Values-only keeps the key.
import type { Processor, ProcessorContext } from '../../processor.js'
import { type KeyValue, StreamRecord } from '../../stream-record.js'

export class FlatMapProcessor<K, V, K2, V2> implements Processor<K, V, K2, V2> {
  #context!: ProcessorContext<K2, V2>

  constructor(private readonly mapper: (key: K, value: V) => Iterable<KeyValue<K2, V2>>) {}

  init(context: ProcessorContext<K2, V2>): void {
    this.#context = context
  }

  process(record: StreamRecord<K, V>): void {
    for (const [key, value] of this.mapper(record.key, record.value)) {
      this.#context.forward(new StreamRecord(key, value, record.timestamp, record.headers))
    }
  }
}

export class FlatMapValuesProcessor<K, V, V2> implements Processor<K, V, K, V2> {
  #context!: ProcessorContext<K, V2>

  constructor(private readonly mapper: (value: V, key: K) => Iterable<V2>) {}

  init(context: ProcessorContext<K, V2>): void {
    this.#context = context
  }

  process(record: StreamRecord<K, V>): void {
    for (const value of this.mapper(record.value, record.key)) {
      this.#context.forward(new StreamRecord(record.key, value, record.timestamp, record.headers))
    }
  }
}
