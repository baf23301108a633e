// KStream.pipe(...operators): runs user RxJS operators inside a chain built once per task (a Subject piped
// through the operators at init), fed one record per process() call. Only synchronous operators are
// allowed: an emission arriving outside the process() call that fed the chain would escape the commit
// (its input offset may already be committed), so it fails the task with PIPE_NOT_SYNCHRONOUS, which
// points to mapValuesAsync(). Errors inside the chain and downstream are rethrown from process(), as RxJS
// would otherwise report them asynchronously. An error inside the chain ends it (RxJS semantics), so it
// fails the task for good (a TopologyError the processing exception handler does not take); an error
// downstream concerns its record only, so a processing exception handler may skip that record.
import { type Observable, type OperatorFunction, Subject, type Subscription } from 'rxjs'
import { TopologyError } from '../../errors.js'
import type { Processor } from '../../processor.js'
import type { StreamRecord } from '../../stream-record.js'
import type { InternalProcessorContext } from '../runtime/node-context.js'

export type RecordOperator = OperatorFunction<StreamRecord<unknown, unknown>, StreamRecord<unknown, unknown>>

export class PipeProcessor implements Processor<unknown, unknown, unknown, unknown> {
  #context!: InternalProcessorContext<unknown, unknown>
  #subject!: Subject<StreamRecord<unknown, unknown>>
  #subscription: Subscription | undefined
  #inCall = false
  #failure: unknown
  #downstreamFailure: unknown

  constructor(private readonly operators: readonly RecordOperator[]) {}

  init(context: InternalProcessorContext<unknown, unknown>): void {
    this.#context = context
    this.#subject = new Subject()
    let chain: Observable<StreamRecord<unknown, unknown>> = this.#subject
    for (const operator of this.operators) chain = operator(chain)
    this.#subscription = chain.subscribe({
      next: (record) => this.#emit(record),
      error: (error: unknown) =>
        this.#fail(
          new TopologyError(
            'PROCESSING_FAILED',
            `an operator given to pipe() at ${context.nodeName} threw, which ends its chain: ${String(error)}`,
            { cause: error, subject: context.nodeName },
          ),
        ),
      complete: () =>
        this.#fail(
          new TopologyError(
            'PIPE_COMPLETED',
            `the operators of ${context.nodeName} completed (take, first, takeWhile...): a stream never ends; filter instead`,
            { subject: context.nodeName },
          ),
        ),
    })
  }

  process(record: StreamRecord<unknown, unknown>): void {
    this.#inCall = true
    try {
      this.#subject.next(record)
    } finally {
      this.#inCall = false
    }
    if (this.#failure !== undefined) throw this.#failure
    const downstream = this.#downstreamFailure
    if (downstream !== undefined) {
      this.#downstreamFailure = undefined
      throw downstream
    }
  }

  close(): void {
    this.#subscription?.unsubscribe()
  }

  #emit(record: StreamRecord<unknown, unknown>): void {
    if (!this.#inCall) {
      this.#fail(
        new TopologyError(
          'PIPE_NOT_SYNCHRONOUS',
          `an operator given to pipe() at ${this.#context.nodeName} emitted outside the call that fed it (delay, debounce, a Promise...): pipe() takes synchronous operators only; use mapValuesAsync(fn, { concurrency }) for asynchronous work`,
          { subject: this.#context.nodeName },
        ),
      )
      return
    }
    try {
      this.#context.forward(record)
    } catch (error) {
      this.#downstreamFailure ??= error
    }
  }

  #fail(error: unknown): void {
    this.#failure ??= error
    if (!this.#inCall) this.#context.reportFault(error)
  }
}
