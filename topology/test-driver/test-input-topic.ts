// Pipes records into a topic of the test driver through the given serdes, as a producer would, with an
// explicit timestamp or one that starts at `startTimestamp` and advances by `autoAdvanceMs` per record.
import type { Serde } from '../serdes.js'
import { type Headers, type KeyValue, NO_HEADERS } from '../stream-record.js'

/** The driver side an input topic writes to. */
export interface InputSink {
  pipe(topic: string, key: Buffer | null, value: Buffer | null, timestamp: number, headers: Headers): void
}

export interface InputTopicOptions {
  readonly startTimestamp?: number
  readonly autoAdvanceMs?: number
}

export class TestInputTopic<K, V> {
  #nextTimestamp: number

  /** @internal Created by TopologyTestDriver.createInputTopic(). */
  constructor(
    private readonly driver: InputSink,
    readonly topic: string,
    private readonly keySerde: Serde<K>,
    private readonly valueSerde: Serde<V>,
    private readonly options: InputTopicOptions,
  ) {
    this.#nextTimestamp = options.startTimestamp ?? 0
  }

  pipeInput(key: K | null, value: V | null, timestamp?: number, headers: Headers = NO_HEADERS): void {
    const ts = timestamp ?? this.#nextTimestamp
    this.#nextTimestamp = ts + (this.options.autoAdvanceMs ?? 0)
    const keyBytes = key === null ? null : this.keySerde.serialize(this.topic, key)
    const valueBytes = value === null ? null : this.valueSerde.serialize(this.topic, value)
    this.driver.pipe(this.topic, keyBytes, valueBytes, ts, headers)
  }

  pipeKeyValueList(records: Iterable<KeyValue<K | null, V | null>>): void {
    for (const [key, value] of records) this.pipeInput(key, value)
  }

  pipeValueList(values: Iterable<V | null>): void {
    for (const value of values) this.pipeInput(null, value)
  }
}
