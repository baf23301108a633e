// KStream.mapValues: a new value, the key kept (so no repartition is needed after it).
import type { Processor, ProcessorContext } from '../../processor.js'
import { StreamRecord } from '../../stream-record.js'

export class MapValuesProcessor<K, V, V2> implements Processor<K, V, K, V2> {
  #context!: ProcessorContext<K, V2>

  constructor(private readonly mapper: (value: V, key: K) => V2) {}

  init(context: ProcessorContext<K, V2>): void {
    this.#context = context
  }

  process(record: StreamRecord<K, V>): void {
    this.#context.forward(
      new StreamRecord(record.key, this.mapper(record.value, record.key), record.timestamp, record.headers),
    )
  }
}
