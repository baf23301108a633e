// The ProcessorContext of one node in one task. Each node has its own, holding its children, so that
// forward() is a loop over an array (no "current node" bookkeeping) and a record forwarded later (from a
// cache flush, a punctuation or an async completion) still goes to the right children.
import { TopologyError } from '../../errors.js'
import type { EngineMetrics } from '../../metrics.js'
import type {
  Cancellable,
  Processor,
  ProcessorContext,
  PunctuationType,
  Punctuator,
  RecordContext,
} from '../../processor.js'
import type { StateStore } from '../../state-store.js'
import type { StreamRecord } from '../../stream-record.js'
import type { LateRecordInfo } from './record-collector.js'
import type { RecordContextHolder } from './record-context-holder.js'

/** What a task offers the contexts of its nodes. */
export interface TaskServices {
  readonly applicationId: string
  readonly taskId: string
  readonly partition: number
  readonly recordContext: RecordContextHolder
  /** The task's metrics sink (NO_METRICS when none was given). */
  readonly metrics: EngineMetrics
  streamTime(): number
  systemTime(): number
  store(name: string): StateStore | undefined
  schedule(node: string, intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable
  /** A failure outside a process() call (an async completion, a late emission): fails the task. */
  reportFault(error: unknown, node: string): void
  /** The record being processed was too late for a windowed aggregate: to the late-record output. */
  reportLate(late: LateRecordInfo): void
  beginAsync(): void
  endAsync(): void
}

export interface ProcessorNode {
  readonly name: string
  readonly processor: Processor<unknown, unknown, unknown, unknown>
  readonly context: NodeContext<unknown, unknown>
}

/** The context DSL processors get: the public one plus what async and pipe operators need. */
export interface InternalProcessorContext<KOut, VOut> extends ProcessorContext<KOut, VOut> {
  readonly nodeName: string
  /** The task's metrics, for counts a processor owns (late records). */
  readonly metrics: EngineMetrics
  reportFault(error: unknown): void
  /** The record being processed changed no window of `store`: the runtime writes it to its late topic. */
  reportLate(store: string, late: Omit<LateRecordInfo, 'processor' | 'store'>): void
  beginAsync(): void
  endAsync(): void
  /** Forwards as if `context` were the record being processed (for records that complete later). */
  forwardInContext(record: StreamRecord<KOut, VOut>, context: RecordContext | undefined): void
}

export class NodeContext<KOut, VOut> implements InternalProcessorContext<KOut, VOut> {
  children: ProcessorNode[] = []

  constructor(
    private readonly task: TaskServices,
    readonly nodeName: string,
    private readonly storeNames: ReadonlySet<string>,
  ) {}

  get applicationId(): string {
    return this.task.applicationId
  }

  get taskId(): string {
    return this.task.taskId
  }

  get partition(): number {
    return this.task.partition
  }

  get metrics(): EngineMetrics {
    return this.task.metrics
  }

  forward(record: StreamRecord<KOut, VOut>, childName?: string): void {
    const children = this.children
    if (childName === undefined) {
      for (let i = 0; i < children.length; i++) (children[i] as ProcessorNode).processor.process(record)
      return
    }
    const child = children.find((c) => c.name === childName)
    if (child === undefined) {
      throw new TopologyError('INVALID_ARGUMENT', `${this.nodeName} has no child named ${childName}`, {
        subject: this.nodeName,
      })
    }
    child.processor.process(record)
  }

  forwardInContext(record: StreamRecord<KOut, VOut>, context: RecordContext | undefined): void {
    const holder = this.task.recordContext
    const saved = holder.current
    holder.current = context
    try {
      this.forward(record)
    } finally {
      holder.current = saved
    }
  }

  getStateStore<S extends StateStore>(name: string): S {
    const store = this.storeNames.has(name) ? this.task.store(name) : undefined
    if (store === undefined) {
      throw new TopologyError(
        'UNKNOWN_STORE',
        `processor ${this.nodeName} asked for store ${name}, which is not connected to it: pass the name to process(supplier, ...storeNames)`,
        { subject: name, taskId: this.task.taskId },
      )
    }
    return store as S
  }

  schedule(intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable {
    if (!(intervalMs >= 1) || !Number.isFinite(intervalMs)) {
      throw new TopologyError(
        'INVALID_ARGUMENT',
        `schedule interval must be at least 1 ms, got ${intervalMs}`,
        {
          subject: this.nodeName,
        },
      )
    }
    return this.task.schedule(this.nodeName, intervalMs, type, punctuator)
  }

  recordContext(): RecordContext | undefined {
    return this.task.recordContext.current
  }

  currentStreamTimeMs(): number {
    return this.task.streamTime()
  }

  currentSystemTimeMs(): number {
    return this.task.systemTime()
  }

  reportFault(error: unknown): void {
    this.task.reportFault(error, this.nodeName)
  }

  reportLate(store: string, late: Omit<LateRecordInfo, 'processor' | 'store'>): void {
    this.task.reportLate({ processor: this.nodeName, store, ...late })
  }

  beginAsync(): void {
    this.task.beginAsync()
  }

  endAsync(): void {
    this.task.endAsync()
  }
}
