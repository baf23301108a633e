// KTable.groupBy: re-keys each change of a table. The old value goes to its old group as a subtraction,
// then the new value to its new group as an addition, so a group aggregate stays right when an entity
// moves between groups (the two may land on different partitions, hence the repartition after this).
import { Change } from '../../change.js'
import type { Processor, ProcessorContext } from '../../processor.js'
import { type KeyValue, StreamRecord } from '../../stream-record.js'

export class TableGroupByProcessor<K, V, K2, V2> implements Processor<K, Change<V>, K2, Change<V2>> {
  #context!: ProcessorContext<K2, Change<V2>>

  constructor(private readonly selector: (key: K, value: V) => KeyValue<K2, V2>) {}

  init(context: ProcessorContext<K2, Change<V2>>): void {
    this.#context = context
  }

  process(record: StreamRecord<K, Change<V>>): void {
    const { newValue, oldValue } = record.value
    if (oldValue !== null) {
      const [key, value] = this.selector(record.key, oldValue)
      this.#context.forward(
        new StreamRecord(key, new Change<V2>(null, value), record.timestamp, record.headers),
      )
    }
    if (newValue !== null) {
      const [key, value] = this.selector(record.key, newValue)
      this.#context.forward(
        new StreamRecord(key, new Change<V2>(value, null), record.timestamp, record.headers),
      )
    }
  }
}
