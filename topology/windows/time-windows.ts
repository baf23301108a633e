// Tumbling and hopping windows (Kafka Streams' TimeWindows): fixed-size windows [start, start + size)
// that start every `advance` ms from epoch 0, with a grace period after their end during which late
// records are still accepted. Immutable; every factory validates.
import { TopologyError } from '../errors.js'
import { requireMillis } from './duration.js'
import { Window } from './window.js'

export class TimeWindows {
  private constructor(
    readonly sizeMs: number,
    readonly advanceMs: number,
    readonly graceMs: number,
  ) {
    requireMillis(sizeMs, 'size', 1)
    requireMillis(advanceMs, 'advance', 1)
    requireMillis(graceMs, 'grace', 0)
    if (advanceMs > sizeMs) {
      // Same rule as TimeWindows' constructor: windows with gaps between them would drop records.
      throw new TopologyError(
        'INVALID_ARGUMENT',
        `advance must not exceed the window size ${sizeMs} ms, got ${advanceMs}`,
        {
          subject: 'advance',
        },
      )
    }
  }

  /** Tumbling windows of `sizeMs`, closed as soon as stream time passes their end. */
  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return new TimeWindows(sizeMs, sizeMs, 0)
  }

  /** Tumbling windows of `sizeMs` that accept out-of-order records until `end + graceMs`. */
  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    return new TimeWindows(sizeMs, sizeMs, graceMs)
  }

  /** Hopping windows: a window starts every `advanceMs` (0 < advance <= size). */
  advanceBy(advanceMs: number): TimeWindows {
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs)
  }

  /**
   * The windows that contain `timestamp`, by start, ascending. Windows start at multiples of the advance,
   * never before 0 (Kafka Streams' `max(0, timestamp - size + advance)`), so a negative timestamp has none.
   */
  windowsFor(timestamp: number): Window[] {
    const advance = this.advanceMs
    const size = this.sizeMs
    const out: Window[] = []
    for (
      let start = Math.floor(Math.max(0, timestamp - size + advance) / advance) * advance;
      start <= timestamp;
      start += advance
    )
      out.push(new Window(start, start + size))
    return out
  }

  /** How long a store must keep a window by default: until it has closed. */
  get defaultRetentionMs(): number {
    return this.sizeMs + this.graceMs
  }
}
