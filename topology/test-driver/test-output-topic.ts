// Reads what the topology produced to a topic (output, repartition or changelog), deserialized through
// the given serdes. Reading consumes: each record is returned once.

import type { ProducerRecord } from '../internals/runtime/record-collector.js'
import type { Serde } from '../serdes.js'
import type { KeyValue } from '../stream-record.js'
import type { TestRecord } from './test-record.js'

/** The driver side an output topic reads from. */
export interface OutputSource {
  take(topic: string): ProducerRecord | undefined
  size(topic: string): number
}

export class TestOutputTopic<K, V> {
  /** @internal Created by TopologyTestDriver.createOutputTopic(). */
  constructor(
    private readonly driver: OutputSource,
    readonly topic: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
  ) {}

  readRecord(): TestRecord<K | null, V | null> {
    const record = this.driver.take(this.topic)
    if (record === undefined) throw new Error(`no record left in ${this.topic}`)
    return {
      key: record.key === null ? null : this.keySerde.deserialize(this.topic, record.key),
      value: record.value === null ? null : this.valueSerde.deserialize(this.topic, record.value),
      timestamp: record.timestamp,
      headers: record.headers,
    }
  }

  readKeyValue(): KeyValue<K | null, V | null> {
    const { key, value } = this.readRecord()
    return [key, value]
  }

  readValue(): V | null {
    return this.readRecord().value
  }

  readRecordsToList(): TestRecord<K | null, V | null>[] {
    const out: TestRecord<K | null, V | null>[] = []
    while (!this.isEmpty()) out.push(this.readRecord())
    return out
  }

  readKeyValuesToList(): KeyValue<K | null, V | null>[] {
    return this.readRecordsToList().map((r) => [r.key, r.value] as const)
  }

  readValuesToList(): (V | null)[] {
    return this.readRecordsToList().map((r) => r.value)
  }

  /** The last value per key (a null value deletes the key), like a compacted topic. */
  readKeyValuesToMap(): Map<K | null, V> {
    const out = new Map<K | null, V>()
    for (const { key, value } of this.readRecordsToList()) {
      if (value === null) out.delete(key)
      else out.set(key, value)
    }
    return out
  }

  getQueueSize(): number {
    return this.driver.size(this.topic)
  }

  isEmpty(): boolean {
    return this.getQueueSize() === 0
  }
}
