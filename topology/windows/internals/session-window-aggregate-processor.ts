// Session window aggregation with merging (Kafka Streams' KStreamSessionWindowAggregate): a record finds
// its key's sessions within the inactivity gap (end >= t - gap and start <= t + gap), merges their
// aggregates and windows with its own [t, t], and writes the merged session. The merged-away sessions are
// removed: a tombstone in the changelog and, on update, Change(null, old) downstream. Late (Kafka's rule):
// closeTime = stream time - grace - gap; a record whose merged session ends before closeTime changes
// nothing and goes to the late-record output. Emit on close forwards each session once, Change(agg, null)
// stamped with its end, when end < closeTime; it runs before the record is applied (see
// time-window-aggregate-processor.ts), and needs a store retention above gap + grace, else a session
// could expire in the store at end == closeTime, one millisecond before it closes.
import { Change } from '../../change.js'
import { TopologyError } from '../../errors.js'
import type { MeteredSessionStore } from '../../internals/state/session-metered-store.js'
import type { Processor, ProcessorContext } from '../../processor.js'
import { StreamRecord } from '../../stream-record.js'
import { sessionCloseTime, sessionLateness } from '../lateness.js'
import type { SessionWindows } from '../session-windows.js'
import { Window, Windowed } from '../window.js'
import type { EmitStrategy } from './emit-strategy.js'
import { LateRecordOutput } from './late-records.js'

export interface SessionAggregateOptions<K, V, A> {
  readonly storeName: string
  readonly windows: SessionWindows
  readonly initializer: () => A
  readonly aggregator: (key: K, value: V, aggregate: A) => A
  /** Combines two sessions' aggregates when a record bridges them. */
  readonly merger: (key: K, left: A, right: A) => A
  readonly emit: EmitStrategy
  readonly lateChildName?: string | undefined
}

export class SessionWindowAggregateProcessor<K, V, A> implements Processor<K, V, Windowed<K>, Change<A>> {
  #context!: ProcessorContext<Windowed<K>, Change<A>>
  #store!: MeteredSessionStore<K, A>
  #cached = false
  #streamTime = Number.NEGATIVE_INFINITY
  // Sessions ending before this have been emitted final (Kafka's lastEmitWindowCloseTime).
  #emittedBefore = Number.NEGATIVE_INFINITY
  readonly #late: LateRecordOutput

  constructor(private readonly options: SessionAggregateOptions<K, V, A>) {
    this.#late = new LateRecordOutput(options.lateChildName, options.storeName)
  }

  get lateRecordCount(): number {
    return this.#late.count
  }

  init(context: ProcessorContext<Windowed<K>, Change<A>>): void {
    this.#context = context
    this.#store = context.getStateStore<MeteredSessionStore<K, A>>(this.options.storeName)
    const { windows, emit, storeName } = this.options
    if (emit === 'on-window-close' && this.#store.retentionMs <= windows.inactivityGapMs + windows.graceMs) {
      throw new TopologyError(
        'INVALID_ARGUMENT',
        `session store ${storeName}: emit on window close needs a retention above gap + grace (${windows.inactivityGapMs + windows.graceMs} ms), got ${this.#store.retentionMs}`,
        { subject: storeName },
      )
    }
    // Restarted: see time-window-aggregate-processor.ts.
    const marker = this.#store.processorMarker
    if (marker.streamTime !== undefined) this.#streamTime = marker.streamTime
    if (emit === 'on-window-close' && marker.closeTime !== undefined) this.#emittedBefore = marker.closeTime
    if (emit === 'on-window-update') {
      this.#cached = this.#store.setFlushListener((key, start, end, newValue, oldValue) =>
        context.forward(
          new StreamRecord(new Windowed(key, new Window(start, end)), new Change(newValue, oldValue), end),
        ),
      )
    }
  }

  process(record: StreamRecord<K, V>): void {
    const key = record.key
    if (key === null || key === undefined || record.value === null || record.value === undefined) return
    const { windows, emit } = this.options
    const t = record.timestamp
    if (t > this.#streamTime) {
      this.#streamTime = t
      this.#store.processorMarker.setStreamTime(t)
    }
    const streamTime = this.#streamTime
    if (emit === 'on-window-close') this.#emitClosed(sessionCloseTime(windows, streamTime), record)
    const store = this.#store
    const gap = windows.inactivityGapMs
    const found = store.findSessions(key, t - gap, t + gap)
    let start = t
    let end = t
    let agg = this.options.initializer()
    for (const [session, value] of found) {
      agg = this.options.merger(key, agg, value)
      if (session.window.start < start) start = session.window.start
      if (session.window.end > end) end = session.window.end
    }
    const merged = new Window(start, end)
    const late = sessionLateness(windows, t, merged, streamTime)
    if (late !== undefined) {
      this.#late.send(this.#context as ProcessorContext<unknown, unknown>, record, late)
      return
    }
    const forward = emit === 'on-window-update' && !this.#cached
    if (start !== t || end !== t) {
      for (const [session, value] of found) {
        store.remove(key, session.window)
        if (forward)
          this.#context.forward(
            new StreamRecord(session, new Change<A>(null, value), session.window.end, record.headers),
          )
      }
    }
    agg = this.options.aggregator(key, record.value, agg)
    store.put(key, merged, agg)
    if (forward)
      this.#context.forward(
        new StreamRecord(new Windowed(key, merged), new Change<A>(agg, null), end, record.headers),
      )
  }

  // Sessions with end in [emittedBefore, closeTime), stamped with their end, by end, then start, then
  // serialized key (Kafka's time-ordered session store, [end][start][key]).
  #emitClosed(closeTime: number, trigger: StreamRecord<K, V>): void {
    if (closeTime <= this.#emittedBefore) return
    for (const [session, agg] of this.#store.findSessionsByEnd(this.#emittedBefore, closeTime - 1)) {
      this.#context.forward(
        new StreamRecord(session, new Change<A>(agg, null), session.window.end, trigger.headers),
      )
    }
    this.#emittedBefore = closeTime
    this.#store.processorMarker.setCloseTime(closeTime)
  }
}
