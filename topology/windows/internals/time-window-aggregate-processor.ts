// Tumbling and hopping window aggregation (Kafka Streams' KStreamWindowAggregate): each record folds into
// every one of its windows that is still open (end > stream time - grace); a record with no open window
// goes to the late-record output. Stream time is the processor's own: the largest timestamp it has seen,
// this record's included. Emit on update forwards Change(new, old) per window (through the cache's flush
// when there is one); emit on close forwards each window exactly once, Change(final, null), when it closes.
// On close, finals are emitted before the record is applied: the record only touches open windows, so
// the set is the same as Kafka Streams' (which emits after), and a store expiring a just-closed window
// on this record's write cannot lose it first.
import { Change } from '../../change.js'
import type { MeteredWindowStore } from '../../internals/state/window-metered-store.js'
import type { Processor, ProcessorContext } from '../../processor.js'
import { StreamRecord } from '../../stream-record.js'
import { decideTimeWindows } from '../lateness.js'
import type { TimeWindows } from '../time-windows.js'
import { Windowed } from '../window.js'
import type { EmitStrategy } from './emit-strategy.js'
import { LateRecordOutput } from './late-records.js'
import type { ValueAndTimestamp } from './value-and-timestamp.js'
import { windowChangeForwarder } from './window-change-forwarder.js'

export interface WindowAggregateOptions<K, V, A> {
  readonly storeName: string
  readonly windows: TimeWindows
  readonly initializer: () => A
  readonly aggregator: (key: K, value: V, aggregate: A) => A
  readonly emit: EmitStrategy
  /** The child that receives LateRecord values; late records are counted either way. */
  readonly lateChildName?: string | undefined
}

export class TimeWindowAggregateProcessor<K, V, A> implements Processor<K, V, Windowed<K>, Change<A>> {
  #context!: ProcessorContext<Windowed<K>, Change<A>>
  #store!: MeteredWindowStore<K, ValueAndTimestamp<A>>
  #cached = false
  #streamTime = Number.NEGATIVE_INFINITY
  // Windows ending at or before this have been emitted final (Kafka's lastEmitWindowCloseTime).
  #emittedUpTo = Number.NEGATIVE_INFINITY
  readonly #late: LateRecordOutput

  constructor(private readonly options: WindowAggregateOptions<K, V, A>) {
    this.#late = new LateRecordOutput(options.lateChildName, options.storeName)
  }

  get lateRecordCount(): number {
    return this.#late.count
  }

  init(context: ProcessorContext<Windowed<K>, Change<A>>): void {
    this.#context = context
    this.#store = context.getStateStore<MeteredWindowStore<K, ValueAndTimestamp<A>>>(this.options.storeName)
    // Restarted: stream time and what was emitted final come back from the store's changelog, so the
    // same records are late and nothing is emitted twice.
    const marker = this.#store.processorMarker
    if (marker.streamTime !== undefined) this.#streamTime = marker.streamTime
    if (this.options.emit === 'on-window-close' && marker.closeTime !== undefined)
      this.#emittedUpTo = marker.closeTime
    if (this.options.emit === 'on-window-update') {
      this.#cached = this.#store.setFlushListener(windowChangeForwarder(context))
    }
  }

  process(record: StreamRecord<K, V>): void {
    const key = record.key
    if (key === null || key === undefined || record.value === null || record.value === undefined) return
    const { windows, emit } = this.options
    const timestamp = record.timestamp
    if (timestamp > this.#streamTime) {
      this.#streamTime = timestamp
      this.#store.processorMarker.setStreamTime(timestamp)
    }
    const streamTime = this.#streamTime
    if (emit === 'on-window-close') this.#emitClosed(streamTime - windows.graceMs, record)
    const decision = decideTimeWindows(windows, timestamp, streamTime)
    if (decision.late !== undefined) {
      this.#late.send(this.#context as ProcessorContext<unknown, unknown>, record, decision.late)
      return
    }
    const store = this.#store
    for (const window of decision.open) {
      const old = store.fetch(key, window.start)
      const next: ValueAndTimestamp<A> = {
        value: this.options.aggregator(
          key,
          record.value,
          old === undefined ? this.options.initializer() : old.value,
        ),
        timestamp: old === undefined ? timestamp : Math.max(timestamp, old.timestamp),
      }
      store.put(key, next, window.start)
      if (emit === 'on-window-update' && !this.#cached) {
        this.#context.forward(
          new StreamRecord(
            new Windowed(key, window),
            new Change(next.value, old?.value ?? null),
            next.timestamp,
            record.headers,
          ),
        )
      }
    }
  }

  // Windows with end in (emittedUpTo, closeTime], by start then serialized key (the order of Kafka's
  // time-ordered window store), with the headers of the record that closed them (as its fetchAndEmit).
  #emitClosed(closeTime: number, trigger: StreamRecord<K, V>): void {
    if (closeTime <= this.#emittedUpTo) return
    const { sizeMs, advanceMs } = this.options.windows
    // Window ends are k * advance + size: skip the store read unless one falls in the new range.
    const from = this.#emittedUpTo
    const nextEnd =
      from === Number.NEGATIVE_INFINITY
        ? sizeMs
        : (Math.floor((from - sizeMs) / advanceMs) + 1) * advanceMs + sizeMs
    if (nextEnd <= closeTime) {
      const startFrom = from === Number.NEGATIVE_INFINITY ? Number.NEGATIVE_INFINITY : from - sizeMs + 1
      for (const [windowed, agg] of this.#store.fetchAll(startFrom, closeTime - sizeMs)) {
        this.#context.forward(
          new StreamRecord(windowed, new Change<A>(agg.value, null), agg.timestamp, trigger.headers),
        )
      }
    }
    this.#emittedUpTo = closeTime
    this.#store.processorMarker.setCloseTime(closeTime)
  }
}
