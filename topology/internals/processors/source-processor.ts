// The entry of a sub-topology: decodes a partition's record (source serdes, then the timestamp
// extractor) and forwards it. A record that does not deserialize or gets an invalid timestamp goes to
// the task's bad-record handler (dead letter by default) instead of failing the task.
import type { Processor, ProcessorContext } from '../../processor.js'
import type { TimestampExtractor } from '../../record-handlers.js'
import type { Serde } from '../../serdes.js'
import { StreamRecord } from '../../stream-record.js'
import { type BadRecordHandler, describeError } from '../runtime/bad-record-handler.js'
import type { InputRecord } from '../runtime/input-record.js'
import type { RecordDecoder } from '../runtime/record-queue.js'

export class SourceProcessor implements Processor<unknown, unknown, unknown, unknown>, RecordDecoder {
  #context!: ProcessorContext<unknown, unknown>

  constructor(
    private readonly name: string,
    private readonly keySerde: Serde<unknown>,
    private readonly valueSerde: Serde<unknown>,
    private readonly badRecords: BadRecordHandler,
    private readonly timestampExtractor: TimestampExtractor<unknown, unknown> | undefined = undefined,
  ) {}

  init(context: ProcessorContext<unknown, unknown>): void {
    this.#context = context
  }

  decode(input: InputRecord, partitionTime: number): StreamRecord<unknown, unknown> | undefined {
    let key: unknown
    let value: unknown
    let part = 'key'
    try {
      key = input.key === null ? null : this.keySerde.deserialize(input.topic, input.key)
      part = 'value'
      value = input.value === null ? null : this.valueSerde.deserialize(input.topic, input.value)
    } catch (error) {
      this.badRecords.badInput(input, error, {
        code: 'DESERIALIZATION_FAILED',
        reason: `source ${this.name} could not deserialize the ${part} of ${input.topic}-${input.partition}@${input.offset}: ${describeError(error)}`,
        details: { source: this.name, part },
      })
      return undefined
    }
    const record = new StreamRecord(key, value, input.timestamp, input.headers)
    const extractor = this.timestampExtractor
    let timestamp = input.timestamp
    if (extractor !== undefined) {
      try {
        timestamp = extractor(record, partitionTime, input)
      } catch (error) {
        return this.#invalidTimestamp(input, error, `the timestamp extractor threw: ${describeError(error)}`)
      }
    }
    // typeof: an extractor may return anything (null >= 0 is true).
    if (!(timestamp >= 0 && timestamp <= Number.MAX_SAFE_INTEGER) || typeof timestamp !== 'number') {
      return this.#invalidTimestamp(input, undefined, `invalid timestamp ${timestamp}`)
    }
    return timestamp === input.timestamp ? record : record.withTimestamp(timestamp)
  }

  process(record: StreamRecord<unknown, unknown>): void {
    this.#context.forward(record)
  }

  #invalidTimestamp(input: InputRecord, error: unknown, why: string): undefined {
    this.badRecords.badInput(input, error ?? new Error(why), {
      code: 'INVALID_TIMESTAMP',
      reason: `source ${this.name}, ${input.topic}-${input.partition}@${input.offset}: ${why}`,
      details: { source: this.name },
    })
    return undefined
  }
}
