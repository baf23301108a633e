// KStream.split(): sends each record to the first branch whose predicate holds, else to the default
// branch if there is one, else drops it. Branches are child nodes named in the graph.
import type { Processor, ProcessorContext } from '../../processor.js'
import type { StreamRecord } from '../../stream-record.js'

export interface SplitBranch<K, V> {
  readonly predicate: ((key: K, value: V) => boolean) | undefined
  readonly child: string
}

export class SplitProcessor<K, V> implements Processor<K, V, K, V> {
  #context!: ProcessorContext<K, V>

  /** A copy per task of the branches the DSL declared, in declaration order. */
  constructor(private readonly branches: readonly SplitBranch<K, V>[]) {}

  init(context: ProcessorContext<K, V>): void {
    this.#context = context
  }

  process(record: StreamRecord<K, V>): void {
    for (const branch of this.branches) {
      if (branch.predicate === undefined || branch.predicate(record.key, record.value)) {
        this.#context.forward(record, branch.child)
        return
      }
    }
  }
}
