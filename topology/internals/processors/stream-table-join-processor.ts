// KStream.join/leftJoin(table): each stream record looks up the table's value for its key at the state of
// that record (the table's own updates never trigger output). As Kafka Streams (>= 3.7, KIP-962): a null
// value is dropped; a null key is dropped by the inner join and joined with null by the left join; with
// no table value the inner join emits nothing and the left join calls joiner(value, null).
import type { Processor, ProcessorContext } from '../../processor.js'
import type { StreamRecord } from '../../stream-record.js'
import type { InternalProcessorContext } from '../runtime/node-context.js'
import type { TableValueGetter, TableValueGetterSupplier } from '../table/table-value-getter.js'

export class StreamTableJoinProcessor<K, V, VT, VR> implements Processor<K, V, K, VR> {
  #context!: ProcessorContext<K, VR>
  #table!: TableValueGetter<K, VT>

  constructor(
    private readonly table: TableValueGetterSupplier<K, VT>,
    private readonly joiner: (value: V, tableValue: VT | null, key: K) => VR,
    private readonly leftJoin: boolean,
  ) {}

  init(context: ProcessorContext<K, VR>): void {
    this.#context = context
    this.#table = this.table.init(context as ProcessorContext<unknown, unknown>)
  }

  process(record: StreamRecord<K, V>): void {
    const { key, value } = record
    const nullKey = key === null || key === undefined
    if (value === null || value === undefined || (nullKey && !this.leftJoin)) {
      this.#dropped(nullKey ? 'null-key' : 'null-value')
      return
    }
    const tableValue = nullKey ? null : this.#table.get(key)
    if (tableValue === null && !this.leftJoin) return
    this.#context.forward(record.withValue(this.joiner(value, tableValue, key)))
  }

  #dropped(reason: 'null-key' | 'null-value'): void {
    // Kafka Streams' dropped-records sensor; a bare ProcessorContext (a unit-test harness) has no metrics.
    const node = this.#context as Partial<InternalProcessorContext<K, VR>>
    if (node.metrics !== undefined && node.nodeName !== undefined)
      node.metrics.droppedRecord?.(this.#context.taskId, node.nodeName, reason)
  }
}
