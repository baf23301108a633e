// KStream.combine(initializer, aggregator): a local pre-aggregation before a repartition (a combiner).
// Records are folded per key (and per slice of event time, when one is given) into a value that is held
// back, and every held value goes on when the task commits, before its offsets do: in the transaction
// that covers the records folded into it. Nothing is kept across commits, so there is nothing to log or
// restore: after a crash the records are read again from the committed offsets and folded again.
//
// A held value goes on as one record: its key, the fold, the largest timestamp folded into it, and the
// headers and record context of the last record folded (a record too late downstream names that one).
// Values go on in timestamp order, and the Kafka runtime merges the folds of all its tasks into one
// timestamp order before a commit (takeHeld, forwardHeld): a repartition topic several tasks write gets
// them in event-time order, not task after task (a commit of a replay covers minutes of event time, and
// one task's late folds would otherwise follow another's early ones). So a windowed aggregate downstream
// judges a fold late only if its stream time had passed the fold's window before the commit interval
// began, when each of its records would have been late too; records out of order within one interval
// may be rescued. Past `maxPending` held values, the one folded first goes on at once.
import type { Processor, RecordContext } from '../../processor.js'
import { type Headers, StreamRecord } from '../../stream-record.js'
import type { InternalProcessorContext } from '../runtime/node-context.js'
import type { KeyId } from '../state/key-id.js'

/** A fold held back, with the largest timestamp folded into it. */
export interface HeldFold {
  readonly timestamp: number
}

/** A processor that holds records back until the task commits; the task flushes it first. */
export interface FlushedAtCommit {
  /** Forwards everything held back. */
  flushAtCommit(): void
  /**
   * Takes everything held back, by timestamp, for the caller to forward with forwardHeld(): the runtime
   * merges the folds of all its tasks into one timestamp order before a commit.
   */
  takeHeld(): HeldFold[]
  forwardHeld(fold: HeldFold): void
  /** Whether anything is held back. */
  readonly pending: boolean
}

export function isFlushedAtCommit(processor: unknown): processor is FlushedAtCommit {
  return typeof (processor as Partial<FlushedAtCommit> | undefined)?.flushAtCommit === 'function'
}

class Held<K, A> implements HeldFold {
  constructor(
    readonly key: K,
    public value: A,
    public timestamp: number,
    public headers: Headers,
    public context: RecordContext | undefined,
  ) {}
}

export class CombineProcessor<K, V, A> implements Processor<K, V, K, A>, FlushedAtCommit {
  #context!: InternalProcessorContext<K, A>
  #held = new Map<string | KeyId, Held<K, A>>()

  constructor(
    private readonly initializer: () => A,
    private readonly aggregator: (key: K, value: V, aggregate: A) => A,
    private readonly keyId: (key: K) => KeyId,
    private readonly sliceMs: number | undefined,
    private readonly maxPending: number,
  ) {}

  init(context: InternalProcessorContext<K, A>): void {
    this.#context = context
  }

  get pending(): boolean {
    return this.#held.size > 0
  }

  process(record: StreamRecord<K, V>): void {
    const id = this.keyId(record.key)
    // Keys of different types or slices never share an entry ('1' and 1 are different keys).
    const slot =
      this.sliceMs === undefined
        ? id
        : `${Math.floor(record.timestamp / this.sliceMs)}\u0000${typeof id}\u0000${String(id)}`
    const held = this.#held.get(slot)
    if (held === undefined) {
      const value = this.aggregator(record.key, record.value, this.initializer())
      this.#held.set(
        slot,
        new Held(record.key, value, record.timestamp, record.headers, this.#context.recordContext()),
      )
      if (this.#held.size > this.maxPending) this.#forwardFirst()
      return
    }
    held.value = this.aggregator(record.key, record.value, held.value)
    if (record.timestamp > held.timestamp) held.timestamp = record.timestamp
    held.headers = record.headers
    held.context = this.#context.recordContext()
  }

  flushAtCommit(): void {
    for (const h of this.takeHeld()) this.forwardHeld(h)
  }

  takeHeld(): Held<K, A>[] {
    if (this.#held.size === 0) return []
    // Swapped out first, so the map is not changed while it is read.
    const held = [...this.#held.values()]
    this.#held = new Map()
    // By timestamp (a stable sort: ties in first-fold order), so that a fold never moves stream time
    // downstream past the window of a fold sent after it.
    held.sort((a, b) => a.timestamp - b.timestamp)
    return held
  }

  forwardHeld(fold: HeldFold): void {
    this.#forward(fold as Held<K, A>)
  }

  close(): void {
    this.#held.clear()
  }

  #forwardFirst(): void {
    for (const [slot, h] of this.#held) {
      this.#held.delete(slot)
      this.#forward(h)
      return
    }
  }

  #forward(h: Held<K, A>): void {
    this.#context.forwardInContext(new StreamRecord(h.key, h.value, h.timestamp, h.headers), h.context)
  }
}
