// The window of a stream-stream join (Kafka Streams' JoinWindows): a left record at time t joins right
// records in [t - before, t + after], with a grace period after which out-of-order records no longer
// join and left/outer joins emit their unmatched records. Immutable; every factory validates.
import { TopologyError } from '../errors.js'
import { requireMillis } from './duration.js'

export class JoinWindows {
  private constructor(
    readonly beforeMs: number,
    readonly afterMs: number,
    readonly graceMs: number,
  ) {
    if (!Number.isSafeInteger(beforeMs) || !Number.isSafeInteger(afterMs)) {
      throw new TopologyError(
        'INVALID_ARGUMENT',
        `before and after must be whole milliseconds, got ${beforeMs}, ${afterMs}`,
        {
          subject: 'timeDifference',
        },
      )
    }
    requireMillis(graceMs, 'grace', 0)
    // Same rule as JoinWindows: before or after may be negative, the window may not be.
    if (beforeMs + afterMs < 0) {
      throw new TopologyError(
        'INVALID_ARGUMENT',
        `the join window size (before + after) must not be negative, got ${beforeMs} + ${afterMs}`,
        { subject: 'timeDifference' },
      )
    }
  }

  /** Records join when their timestamps differ by at most `timeDifferenceMs`; no grace. */
  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): JoinWindows {
    requireMillis(timeDifferenceMs, 'timeDifference', 0)
    return new JoinWindows(timeDifferenceMs, timeDifferenceMs, 0)
  }

  /** As ofTimeDifferenceWithNoGrace, accepting out-of-order records for `graceMs` after the window. */
  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): JoinWindows {
    requireMillis(timeDifferenceMs, 'timeDifference', 0)
    return new JoinWindows(timeDifferenceMs, timeDifferenceMs, graceMs)
  }

  /** How far before a left record a right record may be. */
  before(timeDifferenceMs: number): JoinWindows {
    return new JoinWindows(timeDifferenceMs, this.afterMs, this.graceMs)
  }

  /** How far after a left record a right record may be. */
  after(timeDifferenceMs: number): JoinWindows {
    return new JoinWindows(this.beforeMs, timeDifferenceMs, this.graceMs)
  }

  get sizeMs(): number {
    return this.beforeMs + this.afterMs
  }

  /** How long each side's store keeps a record: size + grace, as Kafka Streams requires. */
  get retentionMs(): number {
    return this.sizeMs + this.graceMs
  }
}
