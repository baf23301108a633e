// Applies a task's exception handlers to a record it cannot process: asks the handler (a fixed response
// or a function), then dead-letters it through the collector, skips it, or fails the task. Skipped and
// dead-lettered records are counted in the metrics; their offsets still advance, so a commit skips them.
import { TopologyError } from '../../errors.js'
import type { EngineMetrics } from '../../metrics.js'
import type {
  BadRecordResponse,
  DeadLetterCause,
  DeserializationExceptionHandler,
  ProcessingExceptionHandler,
  RawRecord,
} from '../../record-handlers.js'
import type { RecordCollector } from './record-collector.js'

const RESPONSES: ReadonlySet<string> = new Set(['fail', 'continue', 'dead-letter'])

export class BadRecordHandler {
  constructor(
    private readonly taskId: string,
    private readonly collector: RecordCollector,
    private readonly metrics: EngineMetrics,
    private readonly onDeserialization: DeserializationExceptionHandler = 'dead-letter',
    private readonly onProcessing: ProcessingExceptionHandler = 'fail',
  ) {
    for (const [option, handler] of [
      ['deserializationExceptionHandler', onDeserialization],
      ['processingExceptionHandler', onProcessing],
    ] as const) {
      if (typeof handler !== 'function' && !RESPONSES.has(handler)) {
        throw new TopologyError(
          'INVALID_ARGUMENT',
          `${option} must be 'fail', 'continue', 'dead-letter' or a function, got ${String(handler)}`,
        )
      }
    }
  }

  /** A record that did not deserialize or has an invalid timestamp; throws when the answer is 'fail'. */
  badInput(record: RawRecord, error: unknown, cause: DeadLetterCause): void {
    this.#apply(this.onDeserialization, 'SERIALIZATION_FAILED', record, error, cause)
  }

  /** An error thrown while processing a record; throws (the original error) when the answer is 'fail'. */
  processingFailed(record: RawRecord, error: unknown, cause: DeadLetterCause): void {
    this.#apply(this.onProcessing, undefined, record, error, cause)
  }

  #apply(
    handler: DeserializationExceptionHandler,
    failCode: 'SERIALIZATION_FAILED' | undefined,
    record: RawRecord,
    error: unknown,
    cause: DeadLetterCause,
  ): void {
    let response: BadRecordResponse
    try {
      response = typeof handler === 'function' ? handler(record, error, cause) : handler
    } catch (handlerError) {
      throw new TopologyError('PROCESSING_FAILED', `the exception handler of task ${this.taskId} threw`, {
        cause: handlerError,
        taskId: this.taskId,
      })
    }
    if (response === 'dead-letter') this.collector.deadLetter(record, cause)
    else if (response !== 'continue') {
      if (failCode === undefined) throw error
      throw new TopologyError(
        failCode,
        `task ${this.taskId} at ${record.topic}-${record.partition}@${record.offset}: ${cause.reason}`,
        { cause: error, taskId: this.taskId },
      )
    }
    this.metrics.badRecord?.(this.taskId, cause.code, response)
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
