// Tells whether the offsets between a group's committed offset and the end of a partition hold any record
// a read_committed consumer would receive. On a transactional topic every transaction ends with a commit
// or abort marker that takes an offset and is never delivered, and aborted records are never delivered
// either: a consumer that commits "last record read + 1" (the sinks do, as does the client's message
// stream) stays one offset (or more, after an abort) below the end when it has read everything. Seen on
// the local broker: three records committed in one transaction put the end at 4 (offsets 0-2 and the
// marker at 3) and the caught-up consumer committed 3. A read_committed fetch from the committed offset
// that returns no record and reaches the end proves the group caught up.
import type { Consumer } from '@platformatic/kafka'
import { PartitionFetcher, partitionKey } from './partition-fetcher.js'

export interface Gap {
  readonly topic: string
  readonly partition: number
  /** The group's committed offset. */
  readonly from: number
  /** The end offset (last stable offset) now; above `from`. */
  readonly to: number
}

/**
 * What probes learned from one committed offset: nothing deliverable below `clearUntil`; `settled` once a
 * deliverable record was found, at `clearUntil` itself (further fetches cannot change the answer).
 */
interface Probed {
  clearUntil: number
  settled: boolean
}

/**
 * Bytes a probe may fetch per partition: a marker batch is under 100 bytes and the first record found
 * settles the answer, so a lagging partition costs little. A partition whose first batch is larger comes
 * back empty and unsettled (counted as lag, tried again at the next poll).
 */
const PROBE_PARTITION_BYTES = 16 * 1024
const PROBE_BYTES = 1024 * 1024

export class GapProbe {
  readonly #fetcher: PartitionFetcher
  // Per (partition, committed offset). Below the last stable offset the log no longer changes (every
  // transaction there is decided), so what a probe learned stays true; only the end moves on.
  #known = new Map<string, Probed>()

  constructor(consumer: Consumer) {
    this.#fetcher = new PartitionFetcher(consumer, {
      isolation: 'read_committed',
      maxWaitMs: 0,
      maxBytes: PROBE_BYTES,
      maxBytesPerPartition: PROBE_PARTITION_BYTES,
      // A committed offset below the log start is real lag (records were deleted unread): never move it.
      offsetReset: 'none',
    })
  }

  /**
   * The keys (see gapKey) of the gaps that hold nothing a read_committed consumer would receive. A gap
   * the fetch could not settle (an error, a response cut by its size limit, a long run of aborted
   * records) counts as holding records this time; the next call goes on from what was learned.
   */
  async emptyGaps(gaps: readonly Gap[]): Promise<Set<string>> {
    const known = new Map<string, Probed>()
    const toFetch: { gap: Gap; probed: Probed }[] = []
    for (const gap of gaps) {
      const key = gapKey(gap)
      const probed = known.get(key) ?? this.#known.get(key) ?? { clearUntil: gap.from, settled: false }
      known.set(key, probed)
      if (!probed.settled && probed.clearUntil < gap.to) toFetch.push({ gap, probed })
    }
    // Forget the committed offsets that moved on: the map stays as large as the groups' partitions.
    this.#known = known
    // A fetch request holds a partition once: groups at different offsets of one partition go in turns.
    await Promise.all(rounds(toFetch).map((round) => this.#probe(round)))
    const empty = new Set<string>()
    for (const gap of gaps) {
      const probed = known.get(gapKey(gap))
      if (probed !== undefined && probed.clearUntil >= gap.to) empty.add(gapKey(gap))
    }
    return empty
  }

  async #probe(toFetch: readonly { gap: Gap; probed: Probed }[]): Promise<void> {
    const positions = toFetch.map(({ gap, probed }) => ({
      topic: gap.topic,
      partition: gap.partition,
      offset: probed.clearUntil,
    }))
    let fetched: Awaited<ReturnType<PartitionFetcher['fetch']>>
    try {
      fetched = await this.#fetcher.fetch(positions)
    } catch {
      // One partition out of range fails the whole request: settle the others one by one.
      if (positions.length === 1) return
      await Promise.all(toFetch.map((one) => this.#probe([one])))
      return
    }
    const byPartition = new Map(fetched.map((f) => [partitionKey(f.topic, f.partition), f]))
    for (const { gap, probed } of toFetch) {
      const result = byPartition.get(partitionKey(gap.topic, gap.partition))
      if (result === undefined) continue
      const first = result.records[0]
      // A record past the end listed before the fetch (the log moved on meanwhile) still leaves the gap empty.
      if (first !== undefined) {
        probed.clearUntil = first.offset
        probed.settled = true
      } else probed.clearUntil = Math.max(probed.clearUntil, result.nextOffset)
    }
  }
}

/** Splits `items` into lists that each hold a partition at most once, in order. */
function rounds<T extends { gap: Gap }>(items: readonly T[]): T[][] {
  const out: { keys: Set<string>; items: T[] }[] = []
  for (const item of items) {
    const key = partitionKey(item.gap.topic, item.gap.partition)
    let round = out.find((r) => !r.keys.has(key))
    if (round === undefined) {
      round = { keys: new Set(), items: [] }
      out.push(round)
    }
    round.keys.add(key)
    round.items.push(item)
  }
  return out.map((r) => r.items)
}

export function gapKey(gap: { topic: string; partition: number; from: number }): string {
  return `${partitionKey(gap.topic, gap.partition)}\u0000${gap.from}`
}
