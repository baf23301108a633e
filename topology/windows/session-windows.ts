// Session windows (Kafka Streams' SessionWindows): per key, records closer than the inactivity gap fall in
// one session [first, last], both bounds inclusive; a record that bridges two sessions merges them.
// Immutable; every factory validates.
import { requireMillis } from './duration.js'

export class SessionWindows {
  private constructor(
    readonly inactivityGapMs: number,
    readonly graceMs: number,
  ) {
    requireMillis(inactivityGapMs, 'inactivityGap', 1)
    requireMillis(graceMs, 'grace', 0)
  }

  static ofInactivityGapWithNoGrace(inactivityGapMs: number): SessionWindows {
    return new SessionWindows(inactivityGapMs, 0)
  }

  static ofInactivityGapAndGrace(inactivityGapMs: number, graceMs: number): SessionWindows {
    return new SessionWindows(inactivityGapMs, graceMs)
  }

  /** Kafka Streams' default retention of a session store: gap + grace. */
  get defaultRetentionMs(): number {
    return this.inactivityGapMs + this.graceMs
  }
}
