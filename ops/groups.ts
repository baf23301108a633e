// Consumer groups as the operations guide's `kafka-consumer-groups` shows and changes them: the list
// of every group, one group's members (with their assigned partitions) and lag per partition, and a
// reset of its committed offsets. The CLI's `groups` commands print these; the API may reuse them.
//
// The lag is readGroupLag's (in messages, up to the last stable offset); the time lag here is the age
// of the first record the group has not consumed: now minus the timestamp of the first record a
// read_committed consumer would receive at the committed offset, read with one small fetch per
// lagging partition. It needs no history, unlike the API's exporter, which interpolates the committed
// offset on the (end offset, wall-clock time) points it sampled: the two differ when producers set
// record timestamps themselves (event time) or when the records were written before the exporter ran.
//
// The lag in messages is kafka/group-lag.ts's, the one the API's exporter polls.
//
// A reset is refused while the group has live members (a member would go on committing its own
// positions, and the broker refuses the change anyway): stop every instance first.
import type { Admin, Consumer, Group } from '@platformatic/kafka'
import { FetchIsolationLevels } from '@platformatic/kafka'
import { createAdmin, createConsumer, type KafkaConfig } from '../kafka/clients.js'
import { type PartitionLag, readGroupLag } from '../kafka/group-lag.js'
import {
  listOffsetsWithAdmin,
  PartitionFetcher,
  partitionKey,
  partitionsByTopic,
} from '../kafka/partition-fetcher.js'
import { ResetRefusedError } from './reset.js'

export interface GroupSummary {
  readonly id: string
  /** The broker's state: Stable, Empty, PreparingRebalance, CompletingRebalance, Dead, ... */
  readonly state: string
  /** `consumer` for Kafka consumers (an empty string for a group that only has committed offsets). */
  readonly protocolType: string
  /** The assignment strategy the members agreed on (range, roundrobin, ...), empty without members. */
  readonly protocol: string
  readonly members: number
}

export interface GroupMemberInfo {
  readonly id: string
  /** The static member id (group.instance.id), when the member has one. */
  readonly groupInstanceId: string | null
  readonly clientId: string
  readonly clientHost: string
  /** The partitions assigned to it, per topic in name order (empty when the assignment is not decoded). */
  readonly assignments: readonly { topic: string; partitions: readonly number[] }[]
}

export interface PartitionLagDetail extends PartitionLag {
  /**
   * Seconds between now and the timestamp of the first record the group has not consumed; 0 when
   * caught up; null when no such record could be read (only aborted records in a long run).
   */
  readonly lagSeconds: number | null
}

export interface GroupDescription extends GroupSummary {
  readonly memberList: readonly GroupMemberInfo[]
  /** One entry per partition the group has a committed offset for, in topic and partition order. */
  readonly partitions: readonly PartitionLagDetail[]
}

export type OffsetTarget =
  | { readonly to: 'earliest' }
  | { readonly to: 'latest' }
  | { readonly to: 'offset'; readonly offset: number }

export interface GroupResetOptions {
  /** Only this topic (every partition of it); default: every partition the group has committed offsets for. */
  readonly topic?: string
  /** Compute and report the offsets without changing them. */
  readonly dryRun?: boolean
}

export interface GroupOffsetChange {
  readonly topic: string
  readonly partition: number
  /** The committed offset before; null when the group had none for this partition. */
  readonly before: number | null
  /** The committed offset after (the next offset the group will read). */
  readonly after: number
  /** `--to-offset` outside [earliest, latest] is moved to the nearest end, as Kafka's tool does. */
  readonly clamped: boolean
}

export interface GroupResetReport {
  readonly groupId: string
  readonly target: OffsetTarget
  readonly dryRun: boolean
  readonly offsets: readonly GroupOffsetChange[]
}

export class GroupNotFoundError extends Error {
  readonly code = 'GROUP_NOT_FOUND'
  constructor(readonly groupId: string) {
    super(`group ${groupId} does not exist (no members and no committed offsets)`)
    this.name = 'GroupNotFoundError'
  }
}

export interface DescribeGroupOptions {
  /** The clock of the time lag. Default Date.now. */
  readonly now?: () => number
}

/** Every consumer group the brokers know, sorted by id. */
export async function listGroups(kafka: KafkaConfig): Promise<GroupSummary[]> {
  const admin = createAdmin(kafka, 'groups')
  try {
    const listed = await admin.listGroups()
    const ids = [...listed.keys()].sort()
    const described = await describeEach(admin, ids)
    return ids.map((id) => {
      const base = listed.get(id)
      const group = described.get(id)
      return {
        id,
        state: String(group?.state ?? base?.state ?? 'Unknown'),
        protocolType: group?.protocolType ?? base?.protocolType ?? '',
        protocol: group?.protocol ?? '',
        members: group?.members.size ?? 0,
      }
    })
  } finally {
    await admin.close()
  }
}

/** One group: its state, members with their partitions, and its lag per partition. */
export async function describeGroup(
  kafka: KafkaConfig,
  groupId: string,
  options: DescribeGroupOptions = {},
): Promise<GroupDescription> {
  const now = options.now ?? Date.now
  const admin = createAdmin(kafka, 'groups')
  let group: Group | undefined
  try {
    group = (await admin.describeGroups({ groups: [groupId] })).get(groupId)
  } finally {
    await admin.close()
  }
  const lags = await readGroupLag(kafka, groupId, { clientIdSuffix: 'groups' })
  const members = [...(group?.members.values() ?? [])]
  if (members.length === 0 && lags.length === 0 && (group === undefined || group.state === 'Dead'))
    throw new GroupNotFoundError(groupId)
  const timestamps = await firstUnconsumedTimestamps(
    kafka,
    lags.filter((l) => l.lag > 0),
  )
  const at = now()
  return {
    id: groupId,
    state: String(group?.state ?? 'Unknown'),
    protocolType: group?.protocolType ?? '',
    protocol: group?.protocol ?? '',
    members: members.length,
    memberList: members
      .map((m) => ({
        id: m.id,
        groupInstanceId: m.groupInstanceId ?? null,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignments: [...(m.assignments?.values() ?? [])]
          .map((a) => ({ topic: a.topic, partitions: [...a.partitions].sort((x, y) => x - y) }))
          .sort((a, b) => a.topic.localeCompare(b.topic)),
      }))
      .sort((a, b) => a.id.localeCompare(b.id)),
    partitions: lags.map((l) => {
      if (l.lag === 0) return { ...l, lagSeconds: 0 }
      const ts = timestamps.get(partitionKey(l.topic, l.partition))
      return { ...l, lagSeconds: ts === undefined ? null : Math.max(0, (at - ts) / 1000) }
    }),
  }
}

/**
 * Moves a group's committed offsets to the earliest, the latest (last stable) or a given offset;
 * refused with a ResetRefusedError (LIVE_MEMBERS) while the group has members, dry run included.
 */
export async function resetGroupOffsets(
  kafka: KafkaConfig,
  groupId: string,
  target: OffsetTarget,
  options: GroupResetOptions = {},
): Promise<GroupResetReport> {
  if (target.to === 'offset' && !(Number.isSafeInteger(target.offset) && target.offset >= 0))
    throw new RangeError(`the offset must be a whole number >= 0, not ${target.offset}`)
  const admin = createAdmin(kafka, 'groups')
  try {
    await refuseLiveMembers(admin, groupId)
    const committed = await committedOffsets(admin, groupId)
    let partitions: { topic: string; partition: number }[]
    if (options.topic !== undefined) {
      const topic = options.topic
      if (!(await admin.listTopics()).includes(topic)) throw new Error(`topic ${topic} does not exist`)
      const metadata = await admin.metadata({ topics: [topic], forceUpdate: true })
      const count = metadata.topics.get(topic)?.partitionsCount ?? 0
      partitions = Array.from({ length: count }, (_, partition) => ({ topic, partition }))
    } else {
      const present = new Set(await admin.listTopics())
      partitions = [...committed.keys()]
        .map((key) => {
          const [topic, partition] = key.split('\u0000') as [string, string]
          return { topic, partition: Number(partition) }
        })
        .filter((p) => present.has(p.topic))
        .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
      if (partitions.length === 0)
        throw new Error(`group ${groupId} has no committed offsets on existing topics: name one with --topic`)
    }
    const earliest = await listOffsetsWithAdmin(
      admin,
      partitions,
      'earliest',
      FetchIsolationLevels.READ_COMMITTED,
    )
    // The last stable offset: the end a read_committed consumer (every consumer here) reaches.
    const latest = await listOffsetsWithAdmin(
      admin,
      partitions,
      'latest',
      FetchIsolationLevels.READ_COMMITTED,
    )
    const offsets = partitions.map((p): GroupOffsetChange => {
      const key = partitionKey(p.topic, p.partition)
      const low = earliest.get(key) ?? 0
      const high = latest.get(key) ?? 0
      const wanted = target.to === 'earliest' ? low : target.to === 'latest' ? high : target.offset
      const after = Math.min(Math.max(wanted, low), high)
      return { ...p, before: committed.get(key) ?? null, after, clamped: after !== wanted }
    })
    if (!options.dryRun && offsets.length > 0) {
      try {
        await admin.alterConsumerGroupOffsets({
          groupId,
          topics: [...partitionsByTopic(offsets)].map(([name, ids]) => ({
            name,
            partitionOffsets: ids.map((partition) => ({
              partition,
              offset: BigInt(offsets.find((o) => o.topic === name && o.partition === partition)?.after ?? 0),
            })),
          })),
        })
      } catch (error) {
        // A member that joined since the check: the broker refuses the commit; say why.
        await refuseLiveMembers(admin, groupId, error)
        throw error
      }
    }
    return { groupId, target, dryRun: options.dryRun ?? false, offsets }
  } finally {
    await admin.close()
  }
}

async function refuseLiveMembers(admin: Admin, groupId: string, cause?: unknown): Promise<void> {
  const group = (await admin.describeGroups({ groups: [groupId] })).get(groupId)
  const members = [...(group?.members.values() ?? [])]
  if (members.length === 0) return
  const names = members.map(
    (m) => `${m.groupInstanceId ?? m.id} (client ${m.clientId} on ${m.clientHost.replace(/^\//, '')})`,
  )
  throw new ResetRefusedError(
    'LIVE_MEMBERS',
    `group reset refused: group ${groupId} has ${members.length} live member(s): ${names.join(', ')}; ` +
      'stop every instance of it first (a crashed static member leaves the group when its session times out)',
    [{ groupId, members: members.length, memberIds: members.map((m) => m.groupInstanceId ?? m.id) }],
    [],
    cause === undefined ? undefined : { cause },
  )
}

/** Describes the groups at once; when that fails (a group whose metadata cannot be decoded), one by one. */
async function describeEach(admin: Admin, ids: readonly string[]): Promise<Map<string, Group>> {
  if (ids.length === 0) return new Map()
  try {
    return await admin.describeGroups({ groups: [...ids] })
  } catch {
    const out = new Map<string, Group>()
    for (const id of ids) {
      const one = await admin.describeGroups({ groups: [id] }).catch(() => undefined)
      const group = one?.get(id)
      if (group !== undefined) out.set(id, group)
    }
    return out
  }
}

/** The group's committed offsets (key: partitionKey), partitions without one left out. */
async function committedOffsets(admin: Admin, groupId: string): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId] })
  for (const topic of group?.topics ?? [])
    for (const p of topic.partitions)
      if (p.committedOffset >= 0n)
        out.set(partitionKey(topic.name, p.partitionIndex), Number(p.committedOffset))
  return out
}

/** Partitions fetched at once. */
const FETCH_CONCURRENCY = 8
/** Fetch rounds per partition before giving up on finding a record (a long run of aborted records). */
const MAX_ROUNDS = 20

/**
 * The timestamp of the first record a read_committed consumer receives at each partition's committed
 * offset: one small fetch per partition (its own request, so that the broker returns at least its
 * first batch), again from where it ended while it holds only markers or aborted records.
 */
async function firstUnconsumedTimestamps(
  kafka: KafkaConfig,
  lags: readonly PartitionLag[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  if (lags.length === 0) return out
  // Only fetches by explicit offsets: it never joins its group.
  const consumer: Consumer = createConsumer(kafka, `${kafka.clientId}-groups-probe`, {
    clientId: 'groups-probe',
  })
  const fetcher = new PartitionFetcher(consumer, {
    isolation: 'read_committed',
    maxWaitMs: 0,
    maxBytes: 1024 * 1024,
    maxBytesPerPartition: 16 * 1024,
    // Below the log start (records deleted unread): the first record still there is the oldest unread.
    offsetReset: 'earliest',
  })
  const one = async (l: PartitionLag): Promise<void> => {
    let offset = l.committed
    for (let round = 0; round < MAX_ROUNDS && offset < l.end; round++) {
      // A partition that cannot be read now (a leader election) has no time lag this time, not an error.
      const [fetched] = await fetcher
        .fetch([{ topic: l.topic, partition: l.partition, offset }])
        .catch(() => [] as Awaited<ReturnType<PartitionFetcher['fetch']>>)
      const first = fetched?.records[0]
      if (first !== undefined) {
        out.set(partitionKey(l.topic, l.partition), first.timestamp)
        return
      }
      if (fetched === undefined || fetched.nextOffset <= offset) return
      offset = fetched.nextOffset
    }
  }
  try {
    // A few requests at a time: a group far behind on hundreds of partitions must not flood the broker.
    const queue = [...lags]
    const worker = async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) await one(next)
    }
    await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, queue.length) }, worker))
  } finally {
    await consumer.close(true)
  }
  return out
}
