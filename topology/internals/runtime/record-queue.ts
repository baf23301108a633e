// The buffered records of one input partition of a task, in offset order, with the offset to commit
// once they are processed. An array with a moving head: no shift() per record. Like Kafka Streams'
// RecordQueue, the head is decoded (deserialized, timestamped) before it is chosen, so that the task
// orders partitions by extracted event time; a record the decoder diverts (dead letter, skip) is
// dropped here and its offset counts as consumed.
import type { StreamRecord } from '../../stream-record.js'
import type { InputRecord } from './input-record.js'

/** Turns the bytes of a record into the record processors see, or diverts it. */
export interface RecordDecoder {
  /** The decoded record (its timestamp is the event time), or undefined when it was diverted. */
  decode(input: InputRecord, partitionTime: number): StreamRecord<unknown, unknown> | undefined
}

export class RecordQueue<S extends RecordDecoder> {
  #items: InputRecord[] = []
  #head = 0
  #decoded: StreamRecord<unknown, unknown> | undefined
  /** The offset after the last record taken (what a commit stores); -1 before any. */
  nextOffset = -1
  /** The largest event time taken from this partition; -1 before any. */
  partitionTime = -1
  /** The smallest event time taken since lowestTaken(true) (+Infinity: none). */
  #lowestTaken = Number.POSITIVE_INFINITY

  constructor(
    readonly topic: string,
    readonly partition: number,
    /** Whatever the task processes this partition's records with (its source node). */
    readonly source: S,
  ) {}

  get size(): number {
    return this.#items.length - this.#head
  }

  add(records: readonly InputRecord[]): void {
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    for (const record of records) this.#items.push(record)
  }

  /** Event time of the head record (decoding it, dropping diverted ones first), +Infinity when empty. */
  headTimestamp(): number {
    const decoded = this.#decoded ?? this.#decodeHead()
    return decoded === undefined ? Number.POSITIVE_INFINITY : decoded.timestamp
  }

  /** The decoded head record; call after headTimestamp() said there is one. */
  get headRecord(): StreamRecord<unknown, unknown> | undefined {
    return this.#decoded
  }

  take(): InputRecord | undefined {
    const record = this.#items[this.#head]
    if (record === undefined) return undefined
    const decoded = this.#decoded
    if (decoded !== undefined) {
      if (decoded.timestamp > this.partitionTime) this.partitionTime = decoded.timestamp
      if (decoded.timestamp < this.#lowestTaken) this.#lowestTaken = decoded.timestamp
    }
    this.#decoded = undefined
    this.#advance(record)
    return record
  }

  /** The smallest event time taken since the last call (+Infinity: none); `reset` starts a new span. */
  lowestTaken(reset: boolean): number {
    const lowest = this.#lowestTaken
    if (reset) this.#lowestTaken = Number.POSITIVE_INFINITY
    return lowest
  }

  clear(): void {
    this.#items = []
    this.#head = 0
    this.#decoded = undefined
  }

  #decodeHead(): StreamRecord<unknown, unknown> | undefined {
    for (;;) {
      const record = this.#items[this.#head]
      if (record === undefined) return undefined
      const decoded = this.source.decode(record, this.partitionTime)
      if (decoded !== undefined) {
        this.#decoded = decoded
        return decoded
      }
      this.#advance(record)
    }
  }

  #advance(record: InputRecord): void {
    this.#items[this.#head++] = undefined as unknown as InputRecord
    if (this.#head === this.#items.length) {
      this.#items.length = 0
      this.#head = 0
    }
    this.nextOffset = record.offset + 1
  }
}
