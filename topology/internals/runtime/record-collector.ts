// Where a task sends what it produces: output records, repartition records and changelog records. The
// Kafka runtime implements it over its transactional producer (the records of one commit interval go
// into one transaction with the offsets); the test driver routes them in memory.
import type { DeadLetterCause, RawRecord } from '../../record-handlers.js'
import type { Headers } from '../../stream-record.js'

export interface ProducerRecord {
  readonly topic: string
  /** Undefined: the producer partitions by key. Changelog records carry the task's partition. */
  readonly partition: number | undefined
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly timestamp: number
  readonly headers: Headers
}

/** Why a windowed aggregate found a record too late (the late-record output's headers). */
export interface LateRecordInfo {
  readonly processor: string
  readonly store: string
  /** time-window-closed, session-closed, sliding-window-closed or no-window. */
  readonly rule: string
  readonly streamTime: number
  readonly closeTime: number
  /** The window the record would have updated last, when there is one. */
  readonly window: { readonly start: number; readonly end: number } | undefined
}

/** A record a windowed aggregate dropped as late, as read, with why. */
export interface LateLetter {
  readonly record: RawRecord
  readonly late: LateRecordInfo
}

export interface RecordCollector {
  send(record: ProducerRecord): void
  /**
   * A record an exception handler diverted, as read (bytes, headers, place in the log), with why. The
   * Kafka runtime writes it to its dead-letter topic in the transaction that commits the offset past it.
   */
  deadLetter(record: RawRecord, cause: DeadLetterCause): void
  /**
   * A record a windowed aggregate found too late (it changed no window). The Kafka runtime writes it to
   * its late-record topic in the transaction that commits the offset past it. Optional: the test
   * driver keeps them for readLateRecords().
   */
  lateRecord?(record: RawRecord, late: LateRecordInfo): void
}

/** A record handed to RecordCollector.deadLetter(). */
export interface DeadLetter {
  readonly record: RawRecord
  readonly cause: DeadLetterCause
}

/** Keeps records until drained; what the test driver and simple runtimes use. */
export class BufferingRecordCollector implements RecordCollector {
  #records: ProducerRecord[] = []
  #deadLetters: DeadLetter[] = []
  #late: LateLetter[] = []

  send(record: ProducerRecord): void {
    this.#records.push(record)
  }

  deadLetter(record: RawRecord, cause: DeadLetterCause): void {
    this.#deadLetters.push({ record, cause })
  }

  lateRecord(record: RawRecord, late: LateRecordInfo): void {
    this.#late.push({ record, late })
  }

  get lateRecordCount(): number {
    return this.#late.length
  }

  drainLateRecords(): LateLetter[] {
    const out = this.#late
    this.#late = []
    return out
  }

  get deadLetterCount(): number {
    return this.#deadLetters.length
  }

  drainDeadLetters(): DeadLetter[] {
    const out = this.#deadLetters
    this.#deadLetters = []
    return out
  }

  get size(): number {
    return this.#records.length
  }

  drain(): ProducerRecord[] {
    const out = this.#records
    this.#records = []
    return out
  }
}

/** Discards everything; for benchmarks of the processing path alone. */
export const NO_OP_COLLECTOR: RecordCollector = { send: () => {}, deadLetter: () => {} }
