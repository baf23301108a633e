// The punctuators of one task for one kind of time. A stream-time punctuator first fires with the first
// record seen (when scheduled before any) and then every interval of stream time; a wall-clock one first
// fires an interval after it was scheduled. Missed intervals are skipped, not replayed (as Kafka Streams).
import type { Cancellable, Punctuator } from '../../processor.js'

interface Entry {
  readonly interval: number
  readonly run: Punctuator
  readonly node: string
  next: number
  cancelled: boolean
}

export class PunctuationSchedule {
  #entries: Entry[] = []
  /** The earliest due time; +Infinity when nothing is scheduled, so the per-record test is one compare. */
  nextDue = Number.POSITIVE_INFINITY

  schedule(node: string, interval: number, run: Punctuator, now: number): Cancellable {
    const entry: Entry = {
      interval,
      run,
      node,
      next: Number.isFinite(now) ? now : Number.NEGATIVE_INFINITY,
      cancelled: false,
    }
    this.#entries.push(entry)
    this.#recompute()
    return {
      cancel: () => {
        entry.cancelled = true
        this.#entries = this.#entries.filter((e) => e !== entry)
        this.#recompute()
      },
    }
  }

  /** Runs every punctuator due at `now` through `invoke`; returns how many ran. */
  fire(now: number, invoke: (run: Punctuator, node: string, timestamp: number) => void): number {
    let count = 0
    for (const entry of this.#entries.slice()) {
      if (entry.cancelled || now < entry.next) continue
      if (entry.next === Number.NEGATIVE_INFINITY) entry.next = now
      entry.next += entry.interval * (Math.floor((now - entry.next) / entry.interval) + 1)
      invoke(entry.run, entry.node, now)
      count++
    }
    this.#recompute()
    return count
  }

  #recompute(): void {
    let due = Number.POSITIVE_INFINITY
    for (const e of this.#entries) if (e.next < due) due = e.next
    this.nextDue = due
  }
}
