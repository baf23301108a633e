// Reads consumer groups' lag in messages from the broker: each group's committed offsets (OffsetFetch) and
// the end of each partition they cover (ListOffsets). Shared by the API's lag exporter, which polls it, and
// by the CLI's `groups describe`, which reads one group once (readGroupLag).
//
// The end is the last stable offset (ListOffsets under read_committed), not the high watermark: every
// consumer of this project reads read_committed, and a read_committed consumer cannot go past the last
// stable offset, so what lies above it (the open transaction of a processor, committed every 100 ms) is
// not lag a consumer could work off yet; with the high watermark a caught-up sink would flicker between
// 0 and the size of the open transaction. For a topic without transactions both are the same offset.
// A transaction that hangs holds the last stable offset back until the transaction timeout aborts it:
// that shows in the producer's metrics, not as consumer lag.
//
// The lag is the offset difference (as kafka-consumer-groups reports it: commit markers between the
// committed offset and the end count), except that a gap holding nothing a read_committed consumer would
// receive (markers, aborted records) is lag 0: see gap-probe.ts, and what a user expects of a caught-up
// group.
import { type Admin, type Consumer, FetchIsolationLevels } from '@platformatic/kafka'
import { createAdmin, createConsumer, type KafkaConfig } from './clients.js'
import { type Gap, GapProbe, gapKey } from './gap-probe.js'
import { listOffsetsWithAdmin, partitionKey } from './partition-fetcher.js'

export interface PartitionLag {
  readonly group: string
  readonly topic: string
  readonly partition: number
  /** The group's committed offset: the next offset it will read. */
  readonly committed: number
  /** The partition's last stable offset: the end a read_committed consumer can reach now. */
  readonly end: number
  /** end - committed, at least 0; 0 also when only commit markers or aborted records lie between. */
  readonly lag: number
}

export interface GroupLagReadout {
  /** One entry per partition that a group has a committed offset for, groups in the order asked. */
  readonly lags: readonly PartitionLag[]
  /** The groups whose committed offsets could not be read, with why. */
  readonly failed: ReadonlyMap<string, unknown>
  /** The end offset of each partition read (key: partitionKey(topic, partition)). */
  readonly ends: ReadonlyMap<string, number>
}

export interface GroupLagReaderOptions {
  /** Suffix of the clients' ids. Default 'lag'. */
  readonly clientIdSuffix?: string
  /**
   * Gaps of at most this many offsets are probed for markers-only content (one small read_committed fetch
   * per gap and committed offset, its answer remembered while the group stays there); larger ones are
   * taken as lag without a look. Default 1000: a caught-up consumer of a processor's output sits below
   * one commit marker, or below an aborted transaction (its records and marker) after a retry.
   */
  readonly probeMaxGap?: number
}

const DEFAULT_PROBE_MAX_GAP = 1000

export class GroupLagReader {
  readonly #admin: Admin
  readonly #consumer: Consumer
  readonly #probe: GapProbe
  readonly #probeMaxGap: number

  constructor(kafka: KafkaConfig, options: GroupLagReaderOptions = {}) {
    const suffix = options.clientIdSuffix ?? 'lag'
    this.#admin = createAdmin(kafka, suffix)
    // Only fetches by explicit offsets (never joins its group), for the probe.
    this.#consumer = createConsumer(kafka, `${kafka.clientId}-${suffix}-probe`, {
      clientId: `${suffix}-probe`,
    })
    this.#probe = new GapProbe(this.#consumer)
    this.#probeMaxGap = options.probeMaxGap ?? DEFAULT_PROBE_MAX_GAP
  }

  /** The ids of the groups the broker knows that start with one of `prefixes`, sorted. */
  async groupsWithPrefix(prefixes: readonly string[]): Promise<string[]> {
    if (prefixes.length === 0) return []
    const groups = await this.#admin.listGroups()
    return [...groups.keys()].filter((id) => prefixes.some((p) => id.startsWith(p))).sort()
  }

  /**
   * The lag of each partition the groups have committed offsets for. A group that does not exist (or
   * was deleted) has no entries; one whose offsets cannot be read is in `failed`. Throws when the end
   * offsets cannot be read (the broker is unreachable).
   */
  async read(groups: readonly string[]): Promise<GroupLagReadout> {
    const unique = [...new Set(groups)]
    const settled = await Promise.allSettled(
      unique.map((groupId) => this.#admin.listConsumerGroupOffsets({ groups: [groupId] })),
    )
    const failed = new Map<string, unknown>()
    const committed: { group: string; topic: string; partition: number; committed: number }[] = []
    settled.forEach((result, i) => {
      const group = unique[i] as string
      if (result.status === 'rejected') {
        failed.set(group, result.reason)
        return
      }
      for (const topic of result.value[0]?.topics ?? []) {
        for (const p of topic.partitions) {
          // -1: no offset committed for this partition.
          if (p.committedOffset >= 0n)
            committed.push({
              group,
              topic: topic.name,
              partition: p.partitionIndex,
              committed: Number(p.committedOffset),
            })
        }
      }
    })
    const ends = await this.#endOffsets(committed)
    const raw = committed.flatMap((c) => {
      const end = ends.get(partitionKey(c.topic, c.partition))
      // A topic deleted (or a partition gone) since the commit: nothing to lag behind.
      return end === undefined ? [] : [{ ...c, end }]
    })
    const gaps: Gap[] = raw
      .filter((r) => r.end > r.committed && r.end - r.committed <= this.#probeMaxGap)
      .map((r) => ({ topic: r.topic, partition: r.partition, from: r.committed, to: r.end }))
    const empty = await this.#probe.emptyGaps(gaps)
    const lags = raw.map((r) => ({
      ...r,
      lag: r.end <= r.committed || empty.has(gapKey({ ...r, from: r.committed })) ? 0 : r.end - r.committed,
    }))
    return { lags, failed, ends }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#admin.close(), this.#consumer.close(true)])
  }

  async #endOffsets(
    partitions: readonly { topic: string; partition: number }[],
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    if (partitions.length === 0) return out
    // ListOffsets fails as a whole on a topic or partition that no longer exists: keep those out.
    const listed = new Set(await this.#admin.listTopics())
    const topics = [...new Set(partitions.map((p) => p.topic))].filter((t) => listed.has(t))
    if (topics.length === 0) return out
    const metadata = await this.#admin.metadata({ topics: [...topics], forceUpdate: true })
    const existing = partitions.filter(
      (p) => p.partition < (metadata.topics.get(p.topic)?.partitionsCount ?? 0),
    )
    return listOffsetsWithAdmin(this.#admin, dedupe(existing), 'latest', FetchIsolationLevels.READ_COMMITTED)
  }
}

/**
 * One group's lag, read once (for `groups describe`): its partitions in topic and partition order.
 * Throws when the group's offsets or the end offsets cannot be read. No time lag: that needs the
 * history of end offsets that only the polling exporter keeps.
 */
export async function readGroupLag(
  kafka: KafkaConfig,
  groupId: string,
  options: GroupLagReaderOptions = {},
): Promise<PartitionLag[]> {
  const reader = new GroupLagReader(kafka, options)
  try {
    const readout = await reader.read([groupId])
    if (readout.failed.has(groupId)) throw readout.failed.get(groupId)
    return [...readout.lags].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
  } finally {
    await reader.close()
  }
}

function dedupe<T extends { topic: string; partition: number }>(partitions: readonly T[]): T[] {
  const seen = new Map<string, T>()
  for (const p of partitions) seen.set(partitionKey(p.topic, p.partition), p)
  return [...seen.values()]
}
