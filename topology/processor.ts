// The low-level Processor API: what a custom processor implements and the context it is given. The DSL
// compiles to processors of this same shape, so user processors and DSL operators run alike.
import type { StateStore } from './state-store.js'
import type { Headers, StreamRecord } from './stream-record.js'

/** Where the record being processed came from. `topic` is null inside a punctuation. */
export interface RecordContext {
  readonly topic: string | null
  readonly partition: number
  readonly offset: number
  readonly timestamp: number
  readonly headers: Headers
}

/** Stream time advances with record timestamps; wall-clock time with the runtime's clock. */
export type PunctuationType = 'stream-time' | 'wall-clock-time'

export type Punctuator = (timestamp: number) => void

export interface Cancellable {
  cancel(): void
}

export interface ProcessorContext<KOut = unknown, VOut = unknown> {
  readonly applicationId: string
  /** `<subtopology>_<partition>`, as in Kafka Streams. */
  readonly taskId: string
  readonly partition: number
  /** Sends a record to every child, or to the named child only. */
  forward(record: StreamRecord<KOut, VOut>, childName?: string): void
  /** A store connected to this processor (see KStream.process(supplier, ...storeNames)). */
  getStateStore<S extends StateStore>(name: string): S
  schedule(intervalMs: number, type: PunctuationType, punctuator: Punctuator): Cancellable
  /** The context of the record being processed; undefined before the first record. */
  recordContext(): RecordContext | undefined
  currentStreamTimeMs(): number
  currentSystemTimeMs(): number
}

/** A processor; processors never commit: the task commits for all of them. */
export interface Processor<KIn, VIn, KOut = never, VOut = never> {
  init?(context: ProcessorContext<KOut, VOut>): void
  process(record: StreamRecord<KIn, VIn>): void
  close?(): void
}

/** Called once per task, so each task gets its own processor instance. */
export type ProcessorSupplier<KIn, VIn, KOut = never, VOut = never> = () => Processor<KIn, VIn, KOut, VOut>
