// KStream.mapValuesAsync(fn, { concurrency }): the one place asynchronous work enters a task. At most
// `concurrency` calls run at once; records of a key run one after another in arrival order (a record
// waits behind an in-flight one of its key); results are forwarded under the record context of their own
// input record. Each record counts as in flight from arrival until it has been forwarded, and the task's
// commit waits until nothing is in flight, so a commit never covers a record still in the chain.

import { TopologyError } from '../../errors.js'
import type { Processor, RecordContext } from '../../processor.js'
import type { StreamRecord } from '../../stream-record.js'
import type { InternalProcessorContext } from '../runtime/node-context.js'
import type { KeyId } from '../state/key-id.js'

interface Job<K, V> {
  readonly record: StreamRecord<K, V>
  readonly context: RecordContext | undefined
  readonly keyId: KeyId
}

export class AsyncMapValuesProcessor<K, V, V2> implements Processor<K, V, K, V2> {
  #context!: InternalProcessorContext<K, V2>
  #running = 0
  // Per key, the jobs not yet finished; the first is running or waiting for a slot.
  readonly #byKey = new Map<KeyId, Job<K, V>[]>()
  // Jobs whose turn in their key has come, waiting for a free slot, oldest first.
  readonly #ready: Job<K, V>[] = []
  #closed = false

  constructor(
    private readonly fn: (value: V, key: K) => Promise<V2> | V2,
    private readonly concurrency: number,
    private readonly keyId: (key: K) => KeyId,
  ) {}

  init(context: InternalProcessorContext<K, V2>): void {
    this.#context = context
  }

  process(record: StreamRecord<K, V>): void {
    const job: Job<K, V> = { record, context: this.#context.recordContext(), keyId: this.keyId(record.key) }
    this.#context.beginAsync()
    const queue = this.#byKey.get(job.keyId)
    if (queue !== undefined) {
      queue.push(job)
      return
    }
    this.#byKey.set(job.keyId, [job])
    this.#admit(job)
  }

  close(): void {
    this.#closed = true
  }

  #admit(job: Job<K, V>): void {
    if (this.#running < this.concurrency) this.#start(job)
    else this.#ready.push(job)
  }

  #start(job: Job<K, V>): void {
    this.#running++
    let result: Promise<V2>
    try {
      result = Promise.resolve(this.fn(job.record.value, job.record.key))
    } catch (error) {
      result = Promise.reject(error)
    }
    result.then(
      (value) => this.#finish(job, value, undefined, true),
      (error: unknown) => this.#finish(job, undefined, error, false),
    )
  }

  #finish(job: Job<K, V>, value: V2 | undefined, error: unknown, ok: boolean): void {
    this.#running--
    const context = this.#context
    try {
      if (this.#closed) return
      if (!ok) {
        context.reportFault(
          new TopologyError(
            'ASYNC_OPERATION_FAILED',
            `mapValuesAsync at ${context.nodeName} failed: ${String(error)}`,
            {
              cause: error,
              subject: context.nodeName,
            },
          ),
        )
        return
      }
      context.forwardInContext(job.record.withValue(value as V2), job.context)
    } catch (downstream) {
      context.reportFault(downstream)
    } finally {
      this.#next(job)
      context.endAsync()
    }
  }

  #next(job: Job<K, V>): void {
    const queue = this.#byKey.get(job.keyId) as Job<K, V>[]
    queue.shift()
    const following = queue[0]
    if (following === undefined) this.#byKey.delete(job.keyId)
    else this.#ready.push(following)
    while (this.#running < this.concurrency && this.#ready.length > 0)
      this.#start(this.#ready.shift() as Job<K, V>)
  }
}
