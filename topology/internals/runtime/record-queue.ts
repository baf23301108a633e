// The buffered records of one input partition of a task, in offset order, with the offset to commit
// once they are processed. An array with a moving head: no shift() per record.
import type { InputRecord } from './input-record.js'

export class RecordQueue<S> {
  #items: InputRecord[] = []
  #head = 0
  /** The offset after the last record taken (what a commit stores); -1 before any. */
  nextOffset = -1

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

  /** Timestamp of the head record, +Infinity when empty. */
  headTimestamp(): number {
    const head = this.#items[this.#head]
    return head === undefined ? Number.POSITIVE_INFINITY : head.timestamp
  }

  take(): InputRecord | undefined {
    const record = this.#items[this.#head]
    if (record === undefined) return undefined
    this.#items[this.#head++] = undefined as unknown as InputRecord
    if (this.#head === this.#items.length) {
      this.#items.length = 0
      this.#head = 0
    }
    this.nextOffset = record.offset + 1
    return record
  }

  clear(): void {
    this.#items = []
    this.#head = 0
  }
}
