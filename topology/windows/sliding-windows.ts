// Sliding windows (Kafka Streams' SlidingWindows): windows of `timeDifferenceMs + 1` ms, [start, end] with
// both bounds inclusive, that exist only where records are: each record defines the window that ends at
// it and the one that starts just after it, so two records share a window iff their timestamps differ by
// at most the time difference. Immutable; every factory validates.
import { requireMillis } from './duration.js'

export class SlidingWindows {
  private constructor(
    readonly timeDifferenceMs: number,
    readonly graceMs: number,
  ) {
    requireMillis(timeDifferenceMs, 'timeDifference', 0)
    requireMillis(graceMs, 'grace', 0)
  }

  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): SlidingWindows {
    return new SlidingWindows(timeDifferenceMs, 0)
  }

  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): SlidingWindows {
    return new SlidingWindows(timeDifferenceMs, graceMs)
  }

  /** Kafka Streams keeps sliding windows for timeDifference + grace (plus the window itself). */
  get defaultRetentionMs(): number {
    return this.timeDifferenceMs + this.graceMs
  }
}
