// The entry of a sub-topology: deserializes a partition's record with the source serdes and forwards it.
import { TopologyError } from '../../errors.js'
import type { Processor, ProcessorContext } from '../../processor.js'
import type { Serde } from '../../serdes.js'
import { StreamRecord } from '../../stream-record.js'
import type { InputRecord } from '../runtime/input-record.js'

export class SourceProcessor implements Processor<unknown, unknown, unknown, unknown> {
  #context!: ProcessorContext<unknown, unknown>

  constructor(
    private readonly name: string,
    private readonly keySerde: Serde<unknown>,
    private readonly valueSerde: Serde<unknown>,
  ) {}

  init(context: ProcessorContext<unknown, unknown>): void {
    this.#context = context
  }

  processInput(input: InputRecord): void {
    let key: unknown
    let value: unknown
    try {
      key = input.key === null ? null : this.keySerde.deserialize(input.topic, input.key)
      value = input.value === null ? null : this.valueSerde.deserialize(input.topic, input.value)
    } catch (cause) {
      throw new TopologyError(
        'SERIALIZATION_FAILED',
        `source ${this.name} could not deserialize ${input.topic}-${input.partition}@${input.offset}`,
        { cause, subject: this.name },
      )
    }
    this.#context.forward(new StreamRecord(key, value, input.timestamp, input.headers))
  }

  process(record: StreamRecord<unknown, unknown>): void {
    this.#context.forward(record)
  }
}
