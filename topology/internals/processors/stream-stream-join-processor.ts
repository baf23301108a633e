// One side of a windowed stream-stream join (Kafka Streams' KStreamKStreamJoin, as of 3.1+ with the
// spurious-result fix). A record joins every record of the other side's window store with the same key
// and a timestamp in [t - before, t + after] (before and after swapped on the right side), the result at
// the later of the two timestamps. A left/outer side does not emit an unmatched record at once: it waits
// in the shared outer-join store until its window has closed (timestamp + after, resp. before, + grace <
// the join's stream time) and is emitted then with null for the missing side, unless a record of the
// other side matched it meanwhile. An unmatched record already past its window when it arrives is
// emitted at once. Null values are dropped; a null key is dropped, except on a left/outer side where it
// is joined with null at once (KIP-962).
import type { Processor, ProcessorContext } from '../../processor.js'
import { StreamRecord } from '../../stream-record.js'
import type { JoinWindows } from '../../windows/join-windows.js'
import type { WindowStore } from '../../windows/window-store.js'
import type { InternalProcessorContext } from '../runtime/node-context.js'
import type { UnmatchedRecord } from '../serde/join-buffer-serde.js'
import type { JoinTimeTracker, JoinTimeTrackers } from './stream-join-time-tracker.js'

export interface StreamStreamJoinSide<K, VL, VR, VOut> {
  readonly isLeftSide: boolean
  readonly windows: JoinWindows
  /** The other side's window store (values kept as lists per key and timestamp). */
  readonly otherStoreName: string
  /** The store unmatched records wait in; only for left/outer joins. */
  readonly outerStoreName: string | undefined
  /** Whether this side's unmatched records are emitted (the left side of a left join, both of an outer). */
  readonly outer: boolean
  readonly joiner: (left: VL | null, right: VR | null, key: K) => VOut
  readonly timeTrackers: JoinTimeTrackers
}

export class StreamStreamJoinProcessor<K, VL, VR, VOut> implements Processor<K, VL | VR, K, VOut> {
  #context!: ProcessorContext<K, VOut>
  #other!: WindowStore<K, (VL | VR)[]>
  #outerStore: WindowStore<K, UnmatchedRecord<VL, VR>[]> | undefined
  #time!: JoinTimeTracker
  readonly #joinBeforeMs: number
  readonly #joinAfterMs: number

  constructor(private readonly side: StreamStreamJoinSide<K, VL, VR, VOut>) {
    const { windows, isLeftSide } = side
    this.#joinBeforeMs = isLeftSide ? windows.beforeMs : windows.afterMs
    this.#joinAfterMs = isLeftSide ? windows.afterMs : windows.beforeMs
  }

  init(context: ProcessorContext<K, VOut>): void {
    this.#context = context
    this.#other = context.getStateStore<WindowStore<K, (VL | VR)[]>>(this.side.otherStoreName)
    const outerName = this.side.outerStoreName
    this.#outerStore =
      outerName === undefined
        ? undefined
        : context.getStateStore<WindowStore<K, UnmatchedRecord<VL, VR>[]>>(outerName)
    this.#time = this.side.timeTrackers.get(context.taskId)
    // Restored records waiting in the outer store: the earliest of them is where the next scan for closed
    // windows must look from (the tracker, in memory only, starts without one). Kafka gets there by
    // accident: its minTime starts at Long.MAX_VALUE, and MAX_VALUE + after + grace overflows.
    const earliest = this.#outerStore?.all()[0]
    if (earliest !== undefined) this.#time.updateMinTime(earliest[0].window.start)
  }

  close(): void {
    this.side.timeTrackers.remove(this.#context.taskId)
  }

  process(record: StreamRecord<K, VL | VR>): void {
    const { key, value, timestamp } = record
    const time = this.#time
    time.advanceStreamTime(timestamp)
    const nullKey = key === null || key === undefined
    if (this.side.outer && nullKey && value !== null && value !== undefined) {
      this.#context.forward(record.withValue(this.#join(value, null, key)))
      return
    }
    if (nullKey || value === null || value === undefined) {
      this.#dropped(nullKey ? 'null-key' : 'null-value')
      return
    }
    const outerStore = this.#outerStore
    if (outerStore !== undefined && timestamp === time.streamTime) this.#emitClosed(outerStore, record)

    const timeFrom = Math.max(0, timestamp - this.#joinBeforeMs)
    const timeTo = Math.max(0, timestamp + this.#joinAfterMs)
    const matches = this.#other.fetchRange(key, timeFrom, timeTo)
    for (const [otherTimestamp, others] of matches) {
      if (outerStore !== undefined)
        this.#removeUnmatched(outerStore, key, otherTimestamp, !this.side.isLeftSide)
      for (const other of others) {
        const joined = this.#join(value, other, key)
        this.#context.forward(record.withValue(joined).withTimestamp(Math.max(timestamp, otherTimestamp)))
      }
    }
    if (!this.side.outer || matches.length > 0) return
    if (outerStore === undefined || timeTo < time.streamTime) {
      this.#context.forward(record.withValue(this.#join(value, null, key)))
      return
    }
    time.updateMinTime(timestamp)
    const waiting = outerStore.fetch(key, timestamp) ?? []
    outerStore.put(key, [...waiting, { left: this.side.isLeftSide, value }], timestamp)
  }

  /** joiner(left, right) whichever side this is. */
  #join(value: VL | VR, other: VL | VR | null, key: K): VOut {
    return this.side.isLeftSide
      ? this.side.joiner(value as VL, other as VR | null, key)
      : this.side.joiner(other as VL | null, value as VR, key)
  }

  #removeUnmatched(
    store: WindowStore<K, UnmatchedRecord<VL, VR>[]>,
    key: K,
    timestamp: number,
    left: boolean,
  ): void {
    const waiting = store.fetch(key, timestamp)
    if (waiting === undefined) return
    const kept = waiting.filter((r) => r.left !== left)
    if (kept.length !== waiting.length) store.put(key, kept.length === 0 ? null : kept, timestamp)
  }

  // Emits the waiting records whose window has closed in the order of Kafka's shared outer store, keyed
  // [timestamp][side: right first][serialized key] (TimestampedKeyAndJoinSideSerializer): store.all()
  // comes by timestamp then serialized key, and the records of one timestamp are visited right side
  // first. As Kafka, the scan stops once a record of each side is found whose window is still open, and
  // leaves minTime at the timestamp it stopped at.
  #emitClosed(store: WindowStore<K, UnmatchedRecord<VL, VR>[]>, record: StreamRecord<K, VL | VR>): void {
    const time = this.#time
    const grace = this.side.windows.graceMs
    if (time.minTime + this.#joinAfterMs + grace >= time.streamTime) return
    time.minTime = Number.POSITIVE_INFINITY
    const { beforeMs, afterMs } = this.side.windows
    const all = store.all()
    let leftOpen = false
    let rightOpen = false
    for (let from = 0; from < all.length; ) {
      const timestamp = (all[from] as (typeof all)[number])[0].window.start
      let to = from + 1
      while (to < all.length && (all[to] as (typeof all)[number])[0].window.start === timestamp) to++
      // A left record's window closes `after` past it; a right record's `before` past it.
      const leftClosed = timestamp + afterMs + grace < time.streamTime
      const rightClosed = timestamp + beforeMs + grace < time.streamTime
      for (const left of [false, true]) {
        for (let i = from; i < to; i++) {
          const [windowed, waiting] = all[i] as (typeof all)[number]
          if (!waiting.some((r) => r.left === left)) continue
          time.minTime = timestamp
          if (leftOpen && rightOpen) return
          if (!(left ? leftClosed : rightClosed)) {
            if (left) leftOpen = true
            else rightOpen = true
            continue
          }
          const key = windowed.key
          const kept: UnmatchedRecord<VL, VR>[] = []
          for (const r of waiting) {
            if (r.left !== left) {
              kept.push(r)
              continue
            }
            const joined = left
              ? this.side.joiner(r.value as VL, null, key)
              : this.side.joiner(null, r.value as VR, key)
            this.#context.forward(new StreamRecord(key, joined, timestamp, record.headers))
          }
          store.put(key, kept.length === 0 ? null : kept, timestamp)
          all[i] = [windowed, kept]
        }
      }
      from = to
    }
  }

  #dropped(reason: 'null-key' | 'null-value'): void {
    const node = this.#context as Partial<InternalProcessorContext<K, VOut>>
    if (node.metrics !== undefined && node.nodeName !== undefined)
      node.metrics.droppedRecord?.(this.#context.taskId, node.nodeName, reason)
  }
}
