// Where windowed aggregates send records that changed no window: to a named child (the late-record
// output) as a LateRecord carrying the reason, and always counted, never silently dropped: here
// (`count`) and in the task's EngineMetrics (`lateRecord`, by processor and store) when the context is a
// task's node context (a bare ProcessorContext, a unit-test harness, has no metrics); and, as read with
// the reason, to the task's collector, which the Kafka runtime writes to its `<applicationId>-late`
// topic.
import type { InternalProcessorContext } from '../../internals/runtime/node-context.js'
import type { ProcessorContext } from '../../processor.js'
import { StreamRecord } from '../../stream-record.js'
import type { LateReason } from '../lateness.js'

/**
 * The value of a record on the late-record output: the original value and why it was late. A class, so
 * that the late-record node can tell these apart from the aggregate's results (both reach it).
 */
export class LateRecord<V> {
  constructor(
    readonly value: V,
    readonly reason: LateReason,
  ) {}
}

export class LateRecordOutput {
  #count = 0

  constructor(
    private readonly childName: string | undefined,
    private readonly storeName: string,
  ) {}

  get count(): number {
    return this.#count
  }

  send<K, V>(
    context: ProcessorContext<unknown, unknown>,
    record: StreamRecord<K, V>,
    reason: LateReason,
  ): void {
    this.#count++
    const node = context as Partial<
      Pick<InternalProcessorContext<unknown, unknown>, 'metrics' | 'nodeName' | 'reportLate'>
    >
    if (node.metrics !== undefined && node.nodeName !== undefined)
      node.metrics.lateRecord?.(context.taskId, node.nodeName, this.storeName)
    node.reportLate?.(this.storeName, {
      rule: reason.rule,
      streamTime: reason.streamTime,
      closeTime: reason.closeTime,
      window:
        reason.window === undefined ? undefined : { start: reason.window.start, end: reason.window.end },
    })
    if (this.childName === undefined) return
    const late = new LateRecord(record.value, reason)
    context.forward(new StreamRecord(record.key, late, record.timestamp, record.headers), this.childName)
  }
}
