// Sliding windows (Kafka Streams' SlidingWindows): windows of `timeDifferenceMs + 1` ms, [start, end] with
// both bounds inclusive, that exist only where records are: each record defines the window that ends at
// it and the one that starts just after it, so two records share a window iff their timestamps differ by
// at most the time difference. A time difference of 0 is allowed, as in Kafka (windows [t, t]: records
// with equal timestamps). Immutable; every factory validates.
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

  /**
   * The default and minimum retention of a sliding-window store, as Kafka Streams'
   * SlidingWindowStoreMaterializer: 2 * timeDifference + grace, because a record at t reads the windows
   * starting from t - 2 * timeDifference to build its right window.
   */
  get defaultRetentionMs(): number {
    return 2 * this.timeDifferenceMs + this.graceMs
  }
}
