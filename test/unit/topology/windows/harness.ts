// A minimal Processor API harness for windowed processors: one processor, its stores built as a task
// builds them, forwarded records captured with the child they were sent to, the record context set per
// record (so changelog records carry its timestamp), and commit() flushing the stores.
import {
  NO_METRICS,
  type Processor,
  type ProcessorContext,
  type StateStore,
} from '../../../../topology/index.js'
import { BufferingRecordCollector } from '../../../../topology/internals/runtime/record-collector.js'
import type { StoreEnvironment } from '../../../../topology/internals/state/store-environment.js'
import { StreamRecord } from '../../../../topology/stream-record.js'

export interface Forwarded<K, V> {
  readonly record: StreamRecord<K, V>
  readonly child: string | undefined
}

export class Harness<KIn, VIn, KOut, VOut> {
  readonly collector = new BufferingRecordCollector()
  readonly env: StoreEnvironment
  readonly out: Forwarded<KOut, VOut>[] = []
  readonly #stores = new Map<string, StateStore & { flush(): void }>()
  #streamTime = -1

  constructor(cacheMaxBytes = 0) {
    this.env = {
      applicationId: 'app',
      taskId: '0_0',
      partition: 0,
      collector: this.collector,
      recordContext: { current: undefined },
      metrics: NO_METRICS,
      cacheMaxBytes,
    }
  }

  addStore(store: StateStore & { flush(): void }): this {
    this.#stores.set(store.name, store)
    return this
  }

  init(processor: Processor<KIn, VIn, KOut, VOut>): this {
    const context: ProcessorContext<KOut, VOut> = {
      applicationId: 'app',
      taskId: '0_0',
      partition: 0,
      forward: (record, child) => this.out.push({ record, child }),
      getStateStore: <S extends StateStore>(name: string) => {
        const s = this.#stores.get(name)
        if (s === undefined) throw new Error(`no store ${name}`)
        return s as unknown as S
      },
      schedule: () => {
        throw new Error('not in this harness')
      },
      recordContext: () => this.env.recordContext.current,
      currentStreamTimeMs: () => this.#streamTime,
      currentSystemTimeMs: () => 0,
    }
    processor.init?.(context)
    this.processor = processor
    return this
  }

  processor: Processor<KIn, VIn, KOut, VOut> | undefined

  pipe(key: KIn, value: VIn, timestamp: number): this {
    this.env.recordContext.current = { topic: 'in', partition: 0, offset: 0, timestamp, headers: new Map() }
    if (timestamp > this.#streamTime) this.#streamTime = timestamp
    this.processor?.process(new StreamRecord(key, value, timestamp))
    return this
  }

  commit(): this {
    for (const s of this.#stores.values()) s.flush()
    return this
  }

  drain(child?: string): Forwarded<KOut, VOut>[] {
    const kept: Forwarded<KOut, VOut>[] = []
    const taken: Forwarded<KOut, VOut>[] = []
    for (const f of this.out) (f.child === child ? taken : kept).push(f)
    this.out.length = 0
    this.out.push(...kept)
    return taken
  }
}
