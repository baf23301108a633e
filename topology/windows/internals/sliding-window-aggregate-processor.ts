// Sliding window aggregation, a port of Kafka Streams' KStreamSlidingWindowAggregate (its reverse-iterator
// path, the one its built-in stores take). Windows are [start, start + timeDifference], both ends
// inclusive, kept in a window store of size timeDifference. For a record at t the processor reads the
// key's windows starting in [t - 2 * timeDifference, t + 1], newest first, and:
//  - updates every existing window that contains t and is still open;
//  - creates t's left window [t - timeDifference, t], seeded with the previous record's window when that
//    record falls in it, and t's right window [t + 1, t + 1 + timeDifference] when later records exist,
//    seeded with the aggregate of the window holding them (it does not contain t);
//  - creates the previous record's right window when t falls in it and it does not exist yet;
//  - records earlier than timeDifference share the window [0, timeDifference] (no negative starts).
// Late (Kafka's rule): closeTime = stream time - grace, a window is open while end >= closeTime, and a
// record with t + timeDifference < closeTime is dropped before it touches the store. A record that still
// folded into no window (all of its windows closed) is dropped too; Kafka only logs and counts it, here
// both go to the late-record output with the reason, and are counted.
// Emit on close forwards each window once, Change(final, null) stamped with its latest record, when its
// end < closeTime. As in time-window-aggregate-processor.ts it runs before the record is applied: the
// record only touches open windows, so the set and order match Kafka's (which emits after), and a window
// the record's write expires from the store cannot be lost first. Kafka throttles that emission by wall
// clock (emit.interval.ms.kstreams.windowed.aggregation); this runs it on every record.
// Like Kafka, it seeds the windows it creates from their neighbours on the assumption that every record
// it kept has its left window. A record kept while its left window was already closed (it folded only
// into a later window) breaks that for its key: later windows of the key near the grace edge can miss or
// repeat its records, and a later record can be dropped as late (the unit tests show both cases).
// Differences from Kafka: the old value forwarded on update is the stored aggregate, null for a window
// this record created (Kafka with sendOldValues sends the seed); a record dropped for closed windows is
// one late record (Kafka's dropped-records sensor counts each closed window).
import { Change } from '../../change.js'
import { TopologyError } from '../../errors.js'
import type { MeteredWindowStore } from '../../internals/state/window-metered-store.js'
import type { Processor, ProcessorContext } from '../../processor.js'
import { StreamRecord } from '../../stream-record.js'
import { type LateReason, slidingCloseTime, slidingLateness } from '../lateness.js'
import type { SlidingWindows } from '../sliding-windows.js'
import { Window, Windowed } from '../window.js'
import type { EmitStrategy } from './emit-strategy.js'
import { LateRecordOutput } from './late-records.js'
import type { ValueAndTimestamp } from './value-and-timestamp.js'
import { windowChangeForwarder } from './window-change-forwarder.js'

export interface SlidingAggregateOptions<K, V, A> {
  readonly storeName: string
  readonly windows: SlidingWindows
  readonly initializer: () => A
  readonly aggregator: (key: K, value: V, aggregate: A) => A
  readonly emit: EmitStrategy
  /** The child that receives LateRecord values; late records are counted either way. */
  readonly lateChildName?: string | undefined
}

/** Kafka Streams refuses a sliding-window store kept for less than this (SlidingWindowStoreMaterializer). */
export function slidingMinRetentionMs(windows: SlidingWindows): number {
  return 2 * windows.timeDifferenceMs + windows.graceMs
}

type Stored<A> = ValueAndTimestamp<A>

export class SlidingWindowAggregateProcessor<K, V, A> implements Processor<K, V, Windowed<K>, Change<A>> {
  #context!: ProcessorContext<Windowed<K>, Change<A>>
  #store!: MeteredWindowStore<K, Stored<A>>
  #cached = false
  #streamTime = Number.NEGATIVE_INFINITY
  // Windows ending before this have been emitted final (Kafka's lastEmitWindowCloseTime).
  #emittedBefore = Number.NEGATIVE_INFINITY
  // Whether the record being processed has folded into a window.
  #applied = false
  readonly #late: LateRecordOutput

  constructor(private readonly options: SlidingAggregateOptions<K, V, A>) {
    this.#late = new LateRecordOutput(options.lateChildName, options.storeName)
  }

  get lateRecordCount(): number {
    return this.#late.count
  }

  init(context: ProcessorContext<Windowed<K>, Change<A>>): void {
    this.#context = context
    const { storeName, windows, emit } = this.options
    this.#store = context.getStateStore<MeteredWindowStore<K, Stored<A>>>(storeName)
    const min = slidingMinRetentionMs(windows)
    if (this.#store.retentionMs < min) {
      throw new TopologyError(
        'INVALID_ARGUMENT',
        `sliding window store ${storeName}: retention must be at least 2 * timeDifference + grace (${min} ms), got ${this.#store.retentionMs}`,
        { subject: storeName },
      )
    }
    if (this.#store.windowSizeMs !== windows.timeDifferenceMs) {
      throw new TopologyError(
        'INVALID_ARGUMENT',
        `sliding window store ${storeName}: window size must be the time difference (${windows.timeDifferenceMs} ms), got ${this.#store.windowSizeMs}`,
        { subject: storeName },
      )
    }
    // Restarted: stream time and what was emitted final come back from the store's changelog (see
    // emit-close-marker.ts), so the same records are late and no window is emitted twice.
    const marker = this.#store.processorMarker
    if (marker.streamTime !== undefined) this.#streamTime = marker.streamTime
    if (emit === 'on-window-close' && marker.closeTime !== undefined) this.#emittedBefore = marker.closeTime
    if (emit === 'on-window-update') {
      this.#cached = this.#store.setFlushListener(windowChangeForwarder(context))
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
    const closeTime = slidingCloseTime(windows, streamTime)
    if (emit === 'on-window-close') this.#emitClosed(closeTime, record)
    const late = slidingLateness(windows, t, streamTime)
    if (late !== undefined) {
      this.#late.send(this.#context as ProcessorContext<unknown, unknown>, record, late)
      return
    }
    this.#applied = false
    if (t < windows.timeDifferenceMs) this.#processEarly(record, closeTime)
    else this.#processReverse(record, closeTime)
    if (!this.#applied) {
      // Every window holding the record is closed: the newest of them is its left window.
      const reason: LateReason = {
        rule: 'sliding-window-closed',
        timestamp: t,
        streamTime,
        closeTime,
        window: new Window(Math.max(0, t - windows.timeDifferenceMs), Math.max(t, windows.timeDifferenceMs)),
      }
      this.#late.send(this.#context as ProcessorContext<unknown, unknown>, record, reason)
    }
  }

  #processReverse(record: StreamRecord<K, V>, closeTime: number): void {
    const td = this.options.windows.timeDifferenceMs
    const t = record.timestamp
    const starts = new Set<number>()
    let leftWinAgg: Stored<A> | undefined
    let rightWinAgg: Stored<A> | undefined
    let leftWinAlreadyCreated = false
    let rightWinAlreadyCreated = false
    let previousRecordTimestamp: number | undefined
    const found = this.#store.fetchRange(record.key, Math.max(0, t - 2 * td), t + 1)
    for (let i = found.length - 1; i >= 0; i--) {
      const [start, value] = found[i] as readonly [number, Stored<A>]
      starts.add(start)
      const end = start + td
      if (start === t + 1) {
        rightWinAlreadyCreated = true
      } else if (end > t) {
        if (rightWinAgg === undefined) rightWinAgg = value
        this.#updateWindow(start, value, record, closeTime)
      } else if (end === t) {
        leftWinAlreadyCreated = true
        this.#updateWindow(start, value, record, closeTime)
        if (value.timestamp < t) previousRecordTimestamp = value.timestamp
        else return
      } else {
        leftWinAgg = value
        previousRecordTimestamp = value.timestamp
        break
      }
    }
    this.#createWindows(
      record,
      closeTime,
      starts,
      rightWinAgg,
      leftWinAgg,
      leftWinAlreadyCreated,
      rightWinAlreadyCreated,
      previousRecordTimestamp,
    )
  }

  // Records with 0 <= t < timeDifference go to the combined window [0, timeDifference] instead of a left
  // window with a negative start; their right windows are created as later records arrive.
  #processEarly(record: StreamRecord<K, V>, closeTime: number): void {
    const t = record.timestamp
    const starts = new Set<number>()
    let combined: Stored<A> | undefined
    let rightWinAgg: Stored<A> | undefined
    let rightWinAlreadyCreated = false
    let previousRecordTimestamp: number | undefined
    for (const [start, value] of this.#store.fetchRange(record.key, 0, t + 1)) {
      starts.add(start)
      if (start === 0) {
        combined = value
        if (value.timestamp < t) previousRecordTimestamp = value.timestamp
      } else if (start <= t) {
        rightWinAgg = value
        this.#updateWindow(start, value, record, closeTime)
      } else {
        rightWinAlreadyCreated = true
      }
    }
    // Without a right window found, the combined window can only hold records after t if there are no
    // records before it (else there would be a right window), so its aggregate is t's right window's.
    if (rightWinAgg === undefined && combined !== undefined && combined.timestamp > t) rightWinAgg = combined
    if (!rightWinAlreadyCreated && rightWinAgg !== undefined && rightWinAgg.timestamp > t) {
      this.#createRightWindow(record, rightWinAgg)
    }
    if (previousRecordTimestamp !== undefined && !starts.has(previousRecordTimestamp + 1)) {
      this.#updateWindow(previousRecordTimestamp + 1, undefined, record, closeTime)
    }
    this.#updateWindow(0, combined, record, closeTime)
  }

  #createWindows(
    record: StreamRecord<K, V>,
    closeTime: number,
    starts: ReadonlySet<number>,
    rightWinAgg: Stored<A> | undefined,
    leftWinAgg: Stored<A> | undefined,
    leftWinAlreadyCreated: boolean,
    rightWinAlreadyCreated: boolean,
    previousRecordTimestamp: number | undefined,
  ): void {
    const td = this.options.windows.timeDifferenceMs
    const t = record.timestamp
    if (previousRecordTimestamp !== undefined) {
      const previousRightStart = previousRecordTimestamp + 1
      if (!starts.has(previousRightStart) && previousRightStart + td >= t) {
        this.#updateWindow(previousRightStart, undefined, record, closeTime)
      }
    }
    if (!leftWinAlreadyCreated) {
      // The previous record's window seeds the left window when that record falls in it.
      const seed =
        previousRecordTimestamp !== undefined && t - td <= previousRecordTimestamp ? leftWinAgg : undefined
      this.#updateWindow(t - td, seed, record, closeTime, seed !== undefined)
    }
    if (!rightWinAlreadyCreated && rightWinAgg !== undefined && rightWinAgg.timestamp > t) {
      this.#createRightWindow(record, rightWinAgg)
    }
  }

  // t's right window: the later records' aggregate as it is, without t.
  #createRightWindow(record: StreamRecord<K, V>, aggregate: Stored<A>): void {
    const start = record.timestamp + 1
    this.#store.put(record.key, aggregate, start)
    this.#forwardUpdate(record, start, aggregate, null)
  }

  // Folds the record into the window at `start` if it is open. `existing` is the stored aggregate, or
  // undefined for a window being created (seeded by `seed` when `seeded`, else by the initializer).
  #updateWindow(
    start: number,
    existing: Stored<A> | undefined,
    record: StreamRecord<K, V>,
    closeTime: number,
    seeded = false,
  ): void {
    const end = start + this.options.windows.timeDifferenceMs
    if (end < closeTime) return
    const stored = seeded ? undefined : existing
    const base = existing === undefined ? this.options.initializer() : existing.value
    const value = this.options.aggregator(record.key, record.value, base)
    const timestamp = stored === undefined ? record.timestamp : Math.max(record.timestamp, stored.timestamp)
    const next: Stored<A> = { value, timestamp }
    this.#store.put(record.key, next, start)
    this.#applied = true
    this.#forwardUpdate(record, start, next, stored?.value ?? null)
  }

  #forwardUpdate(record: StreamRecord<K, V>, start: number, next: Stored<A>, old: A | null): void {
    if (this.options.emit !== 'on-window-update' || this.#cached) return
    const window = new Window(start, start + this.options.windows.timeDifferenceMs)
    this.#context.forward(
      new StreamRecord(
        new Windowed(record.key, window),
        new Change<A>(next.value, old),
        next.timestamp,
        record.headers,
      ),
    )
  }

  // Windows with end in [emittedBefore, closeTime), by start then serialized key, with the headers of the
  // record that closed them (Kafka's fetchAndEmit over starts [lastClose - td, closeTime - td - 1]).
  #emitClosed(closeTime: number, trigger: StreamRecord<K, V>): void {
    if (closeTime <= this.#emittedBefore) return
    const td = this.options.windows.timeDifferenceMs
    const from = this.#emittedBefore === Number.NEGATIVE_INFINITY ? 0 : this.#emittedBefore - td
    if (closeTime - td - 1 >= 0) {
      for (const [windowed, agg] of this.#store.fetchAll(Math.max(0, from), closeTime - td - 1)) {
        this.#context.forward(
          new StreamRecord(windowed, new Change<A>(agg.value, null), agg.timestamp, trigger.headers),
        )
      }
    }
    this.#emittedBefore = closeTime
    this.#store.processorMarker.setCloseTime(closeTime)
  }
}
