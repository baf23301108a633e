// Time lag of a consumer group estimated as kafka-lag-exporter does: per partition, a bounded table of
// sampled (end offset, wall-clock time) points, newest last; the time at which the end offset stood at a
// group's committed offset is read off that table, and the lag is how long ago that was. Pure: the
// exporter feeds it samples and its own clock, so tests pin every branch down without a broker.

/** One sample: the partition's end offset as seen at `timeMs` (epoch milliseconds). */
export interface Sample {
  readonly offset: number
  readonly timeMs: number
}

/** Enough for 30 minutes of history at the exporter's default 5 s interval; idle spans take two points. */
export const DEFAULT_MAX_SAMPLES = 360

export class LookupTable {
  readonly #maxSamples: number
  // Offsets never decrease along the table; times strictly increase.
  #samples: Sample[] = []

  constructor(maxSamples: number = DEFAULT_MAX_SAMPLES) {
    if (!Number.isInteger(maxSamples) || maxSamples < 2) {
      throw new RangeError(
        `maxSamples must be an integer of at least 2 (two points make a slope), got ${maxSamples}`,
      )
    }
    this.#maxSamples = maxSamples
  }

  get samples(): readonly Sample[] {
    return this.#samples
  }

  /**
   * Records the end offset seen at `timeMs`. A sample no later than the newest is ignored (a clock that
   * stepped back must not bend the table). An offset below the newest means the log was truncated or the
   * topic recreated: the old history describes another log and is dropped. An end offset seen again keeps
   * the time it was first seen (the end reached that value then: offsets below it are interpolated up to
   * that time) and, as the run goes on, the latest time it was still there, in place of the previous
   * latest: the last moment a group at that offset was caught up, which is where its lag starts. Without
   * that right edge a topic idle for a day then written once would show a caught-up group a day behind.
   */
  add(offset: number, timeMs: number): void {
    const samples = this.#samples
    const newest = samples.at(-1)
    if (newest !== undefined) {
      if (timeMs <= newest.timeMs) return
      if (offset < newest.offset) samples.length = 0
      else if (offset === newest.offset && samples.at(-2)?.offset === offset) {
        samples[samples.length - 1] = { offset, timeMs }
        return
      }
    }
    samples.push({ offset, timeMs })
    if (samples.length > this.#maxSamples) samples.shift()
  }

  /**
   * Seconds since the end offset stood at `committed`, as of `nowMs`:
   * - 0 when `committed` is at or past the newest sampled end offset (caught up);
   * - between two samples, the time interpolated linearly between them (a sampled offset itself gives
   *   the latest time it was seen, see add());
   * - below the oldest sample, the time extrapolated on the line through the oldest and the newest
   *   sample (the table's average production rate): an estimate that grows less exact the further below;
   * - below the oldest sample of a table that has one point, or whose points all have the same offset,
   *   there is no rate to extrapolate with: the end was already past `committed` at the oldest sample,
   *   so `nowMs` minus that sample's time is returned, a lower bound (0 on the very first sample);
   * - NaN for an empty table.
   * Never negative (a `nowMs` earlier than the samples gives 0).
   */
  lagSeconds(committed: number, nowMs: number): number {
    const samples = this.#samples
    const oldest = samples[0]
    const newest = samples.at(-1)
    if (oldest === undefined || newest === undefined) return Number.NaN
    if (committed >= newest.offset) return 0
    let atMs: number
    if (committed >= oldest.offset) {
      // The last sample at or below `committed`; the next one is above it, since the newest is.
      const i = lastAtOrBelow(samples, committed)
      const left = samples[i] as Sample
      const right = samples[i + 1] as Sample
      atMs = left.timeMs + interpolate(committed - left.offset, left, right)
    } else if (oldest.offset === newest.offset) {
      atMs = oldest.timeMs
    } else {
      atMs = oldest.timeMs - interpolate(oldest.offset - committed, oldest, newest)
    }
    return Math.max(0, nowMs - atMs) / 1000
  }
}

/** The time `offsets` offsets take at the slope between two samples of different offsets. */
function interpolate(offsets: number, from: Sample, to: Sample): number {
  return (offsets * (to.timeMs - from.timeMs)) / (to.offset - from.offset)
}

/** Index of the last sample whose offset is at most `offset` (samples[0].offset <= offset). */
function lastAtOrBelow(samples: readonly Sample[], offset: number): number {
  let low = 0
  let high = samples.length - 1
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    if ((samples[mid] as Sample).offset <= offset) low = mid
    else high = mid - 1
  }
  return low
}
