// One side of KTable.join/leftJoin/outerJoin: each change of this side looks up the other side's current
// value and forwards the joined change, the old result computed from the old value (Kafka Streams'
// KTableKTableInnerJoin, LeftJoin, RightJoin and OuterJoin). `preserve` says which side keeps a row
// without a partner: 'none' (inner), 'this' (left join, this side), 'other' (the right side of a left
// join), 'both' (outer). A change that leaves no result on either side forwards nothing when the other
// side has no row either; with one, it forwards (a tombstone), as Kafka's KTableKTable*Join do.
import { Change } from '../../change.js'
import type { Processor, ProcessorContext } from '../../processor.js'
import type { StreamRecord } from '../../stream-record.js'
import type { TableValueGetter, TableValueGetterSupplier } from '../table/table-value-getter.js'

export type JoinPreserve = 'none' | 'this' | 'other' | 'both'

export class TableTableJoinProcessor<K, V, VO, VR> implements Processor<K, Change<V>, K, Change<VR>> {
  #context!: ProcessorContext<K, Change<VR>>
  #other!: TableValueGetter<K, VO>

  constructor(
    private readonly other: TableValueGetterSupplier<K, VO>,
    private readonly preserve: JoinPreserve,
    /** (this side's value, the other side's value, key), whichever side this processor is on. */
    private readonly joiner: (value: V | null, other: VO | null, key: K) => VR,
  ) {}

  init(context: ProcessorContext<K, Change<VR>>): void {
    this.#context = context
    this.#other = this.other.init(context as ProcessorContext<unknown, unknown>)
  }

  process(record: StreamRecord<K, Change<V>>): void {
    const key = record.key
    if (key === null || key === undefined) return
    const other = this.#other.get(key)
    const newValue = this.#join(record.value.newValue, other, key)
    const oldValue = this.#join(record.value.oldValue, other, key)
    // Kafka's joins forward whenever the other side has a row, even Change(null, null) (a tombstone for a
    // key this side never had, from an uncached source): the result goes out as a tombstone.
    if (newValue === null && oldValue === null && other === null) return
    this.#context.forward(record.withValue(new Change(newValue, oldValue)))
  }

  #join(value: V | null, other: VO | null, key: K): VR | null {
    const p = this.preserve
    const present =
      p === 'none'
        ? value !== null && other !== null
        : p === 'this'
          ? value !== null
          : p === 'other'
            ? other !== null
            : value !== null || other !== null
    return present ? this.joiner(value, other, key) : null
  }
}
