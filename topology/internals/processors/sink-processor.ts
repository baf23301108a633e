// The exit of a sub-topology: serializes a record with the sink serdes and hands it to the collector.
// The partition is left to the producer (by key), which is what makes a repartition topic work.
import { TopologyError } from '../../errors.js'
import type { Processor } from '../../processor.js'
import type { Serde } from '../../serdes.js'
import type { StreamRecord } from '../../stream-record.js'
import type { RecordCollector } from '../runtime/record-collector.js'

export class SinkProcessor implements Processor<unknown, unknown> {
  constructor(
    private readonly name: string,
    private readonly topic: string,
    private readonly keySerde: Serde<unknown>,
    private readonly valueSerde: Serde<unknown>,
    private readonly collector: RecordCollector,
  ) {}

  process(record: StreamRecord<unknown, unknown>): void {
    const topic = this.topic
    let key: Buffer | null
    let value: Buffer | null
    try {
      key =
        record.key === null || record.key === undefined ? null : this.keySerde.serialize(topic, record.key)
      value =
        record.value === null || record.value === undefined
          ? null
          : this.valueSerde.serialize(topic, record.value)
    } catch (cause) {
      throw new TopologyError(
        'SERIALIZATION_FAILED',
        `sink ${this.name} could not serialize a record for ${topic}`,
        {
          cause,
          subject: this.name,
        },
      )
    }
    this.collector.send({
      topic,
      partition: undefined,
      key,
      value,
      timestamp: record.timestamp,
      headers: record.headers,
    })
  }
}
