// Which instance runs which task. A task is one partition number of one sub-topology, and it reads that
// partition of every source topic of the sub-topology, so a join's inputs (co-partitioned) always meet
// on one instance: the client's round-robin assignor spreads topic-partitions without that guarantee.
// Every instance gets ⌊n/m⌋ or ⌈n/m⌉ of each sub-topology's tasks and of all of them; within that,
// tasks stay with their previous owner (its state is warm). Pure, deterministic for one input.
import type { ExtendedGroupProtocolSubscription, GroupPartitionsAssigner } from '@platformatic/kafka'

export interface SubtopologyPartitions {
  readonly id: number
  /** The full names of its source topics. */
  readonly topics: readonly string[]
}

export interface AssignorMember {
  readonly memberId: string
  /** The tasks it ran in the previous generation (`<subtopology>_<partition>`). */
  readonly previousTasks: readonly string[]
  /** Tasks it does not run but has state of on disk (an LMDB checkpoint): it restores them fastest. */
  readonly warmTasks?: readonly string[]
}

/** What each instance puts in its subscription's user data: who it is, what it ran, what it has on disk. */
export interface SubscriptionInfo {
  readonly version: 1
  readonly instanceId: string
  readonly tasks: readonly string[]
  /** Absent from older instances' subscriptions: read as none. */
  readonly warmTasks: readonly string[]
}

export function encodeSubscriptionInfo(
  info: Omit<SubscriptionInfo, 'version' | 'warmTasks'> & { warmTasks?: readonly string[] },
): Buffer {
  return Buffer.from(JSON.stringify({ version: 1, ...info }))
}

export function decodeSubscriptionInfo(
  data: Buffer | string | undefined | null,
): SubscriptionInfo | undefined {
  if (data === undefined || data === null || data.length === 0) return undefined
  try {
    const parsed = JSON.parse(data.toString()) as Partial<SubscriptionInfo>
    if (parsed.version !== 1 || !Array.isArray(parsed.tasks)) return undefined
    return {
      version: 1,
      instanceId: String(parsed.instanceId ?? ''),
      tasks: parsed.tasks.map(String),
      warmTasks: Array.isArray(parsed.warmTasks) ? parsed.warmTasks.map(String) : [],
    }
  } catch {
    return undefined
  }
}

export function taskId(subtopology: number, partition: number): string {
  return `${subtopology}_${partition}`
}

export function parseTaskId(id: string): { subtopology: number; partition: number } {
  const [s, p] = id.split('_')
  return { subtopology: Number(s), partition: Number(p) }
}

/** Every task of the topology: for each sub-topology, as many as its largest source topic has partitions. */
export function allTasks(
  subtopologies: readonly SubtopologyPartitions[],
  partitionCount: (topic: string) => number,
): string[] {
  const out: string[] = []
  for (const sub of subtopologies) {
    const count = Math.max(0, ...sub.topics.map(partitionCount))
    for (let p = 0; p < count; p++) out.push(taskId(sub.id, p))
  }
  return out
}

/**
 * Balanced per sub-topology and sticky: the result maps every member (sorted by id) to its sorted task
 * ids. Each member gets ⌊n/m⌋ or ⌈n/m⌉ of every sub-topology's n tasks, and of all tasks. Balancing only
 * the total let one instance hold every task of the heavy sub-topology (the one that reads the input
 * topics) and the other every task of the light one: two instances of P8 processed 2.3M and 0.6M
 * records. Within that, tasks stay with their previous owner (its state is warm); a task that must
 * move goes to a member with its state on disk when one has room, and a previous owner that must give
 * up some tasks keeps first those no other member has on disk.
 */
export function assignTasks(
  tasks: readonly string[],
  members: readonly AssignorMember[],
): Map<string, string[]> {
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
  const out = new Map<string, string[]>(sorted.map((m) => [m.memberId, []]))
  if (sorted.length === 0) return out
  const previousOwner = new Map<string, string>()
  for (const m of sorted) {
    for (const task of m.previousTasks) if (!previousOwner.has(task)) previousOwner.set(task, m.memberId)
  }
  // Members with a task's state on disk, other than the one that ran it.
  const warmOn = new Map<string, Set<string>>()
  for (const m of sorted) {
    for (const task of m.warmTasks ?? []) {
      if (previousOwner.get(task) === m.memberId) continue
      const set = warmOn.get(task) ?? warmOn.set(task, new Set()).get(task)
      set?.add(m.memberId)
    }
  }
  const wanted = new Set(tasks)
  const previousCount = new Map<string, number>()
  for (const [task, owner] of previousOwner) {
    if (wanted.has(task)) previousCount.set(owner, (previousCount.get(owner) ?? 0) + 1)
  }
  const bySubtopology = new Map<number, string[]>()
  for (const task of [...new Set(tasks)].sort(compareTaskIds)) {
    const sub = parseTaskId(task).subtopology
    const list = bySubtopology.get(sub) ?? bySubtopology.set(sub, []).get(sub)
    list?.push(task)
  }
  // How many sub-topologies gave each member one task more than the others: kept within one of each
  // other, so that the totals are balanced too.
  const extras = new Map(sorted.map((m) => [m.memberId, 0]))
  for (const subTasks of bySubtopology.values()) {
    const base = Math.floor(subTasks.length / sorted.length)
    const extra = subTasks.length % sorted.length
    const held = new Map(sorted.map((m) => [m.memberId, 0]))
    for (const task of subTasks) {
      const owner = previousOwner.get(task)
      if (owner !== undefined) held.set(owner, (held.get(owner) ?? 0) + 1)
    }
    // The members that take one more of this sub-topology: those with the fewest such extras so far;
    // among them those that held more than the base before (it stays), then those that held the fewest
    // tasks in all (they take a leaver's), then by id.
    const takers = [...sorted]
      .map((m, index) => ({ id: m.memberId, index }))
      .sort(
        (a, b) =>
          (extras.get(a.id) ?? 0) - (extras.get(b.id) ?? 0) ||
          Number((held.get(b.id) ?? 0) > base) - Number((held.get(a.id) ?? 0) > base) ||
          (previousCount.get(a.id) ?? 0) - (previousCount.get(b.id) ?? 0) ||
          a.index - b.index,
      )
      .slice(0, extra)
      .map((m) => m.id)
    const capacity = new Map(sorted.map((m) => [m.memberId, base]))
    for (const id of takers) {
      capacity.set(id, base + 1)
      extras.set(id, (extras.get(id) ?? 0) + 1)
    }
    const count = new Map(sorted.map((m) => [m.memberId, 0]))
    const rest: string[] = []
    // Sticky pass: a previous owner keeps the task while it has room, those warm nowhere else first.
    const stickyOrder = [...subTasks].sort((a, b) => Number(warmOn.has(a)) - Number(warmOn.has(b)))
    for (const task of stickyOrder) {
      const owner = previousOwner.get(task)
      if (owner !== undefined && (count.get(owner) ?? 0) < (capacity.get(owner) ?? 0)) {
        out.get(owner)?.push(task)
        count.set(owner, (count.get(owner) ?? 0) + 1)
      } else rest.push(task)
    }
    // The rest to the members with room: one with the task's state on disk if any, else the least
    // loaded first (ties: by id).
    rest.sort(compareTaskIds)
    for (const task of rest) {
      const warm = warmOn.get(task)
      let best: string | undefined
      let bestRank = Number.POSITIVE_INFINITY
      for (const m of sorted) {
        const c = count.get(m.memberId) ?? 0
        if (c >= (capacity.get(m.memberId) ?? 0)) continue
        // Warm first, then the least loaded: a task count is far below this.
        const rank = (warm?.has(m.memberId) === true ? 0 : 1_000_000) + c
        if (rank < bestRank) {
          best = m.memberId
          bestRank = rank
        }
      }
      const to = best ?? (sorted[0]?.memberId as string)
      out.get(to)?.push(task)
      count.set(to, (count.get(to) ?? 0) + 1)
    }
  }
  for (const list of out.values()) list.sort(compareTaskIds)
  return out
}

export function compareTaskIds(a: string, b: string): number {
  const x = parseTaskId(a)
  const y = parseTaskId(b)
  return x.subtopology - y.subtopology || x.partition - y.partition
}

/** The topic-partitions a set of tasks reads. */
export function taskPartitions(
  tasks: readonly string[],
  subtopologies: readonly SubtopologyPartitions[],
  partitionCount: (topic: string) => number,
): Map<string, number[]> {
  const byTopic = new Map<string, number[]>()
  for (const id of tasks) {
    const { subtopology, partition } = parseTaskId(id)
    const sub = subtopologies.find((s) => s.id === subtopology)
    if (sub === undefined) continue
    for (const topic of sub.topics) {
      if (partition >= partitionCount(topic)) continue
      const list = byTopic.get(topic) ?? byTopic.set(topic, []).get(topic)
      list?.push(partition)
    }
  }
  for (const list of byTopic.values()) list.sort((a, b) => a - b)
  return byTopic
}

/** The assignor in the form the client's classic group protocol takes (run by the group leader). */
export function coPartitioningAssigner(
  subtopologies: readonly SubtopologyPartitions[],
): GroupPartitionsAssigner {
  return (_current, members, _topics, metadata) => {
    const count = (topic: string) => metadata.topics.get(topic)?.partitionsCount ?? 0
    const tasks = allTasks(subtopologies, count)
    const assignorMembers = [...members.values()].map((m: ExtendedGroupProtocolSubscription) => ({
      memberId: m.memberId,
      previousTasks: decodeSubscriptionInfo(m.metadata)?.tasks ?? [],
      warmTasks: decodeSubscriptionInfo(m.metadata)?.warmTasks ?? [],
    }))
    const assigned = assignTasks(tasks, assignorMembers)
    return [...assigned].map(([memberId, memberTasks]) => ({
      memberId,
      assignments: new Map(
        [...taskPartitions(memberTasks, subtopologies, count)].map(([topic, partitions]) => [
          topic,
          { topic, partitions },
        ]),
      ),
    }))
  }
}

/** The tasks a member's topic-partition assignment stands for. */
export function tasksOfAssignment(
  assignment: readonly { topic: string; partitions: readonly number[] }[],
  subtopologies: readonly SubtopologyPartitions[],
): string[] {
  const out = new Set<string>()
  for (const { topic, partitions } of assignment) {
    for (const sub of subtopologies) {
      if (!sub.topics.includes(topic)) continue
      for (const p of partitions) out.add(taskId(sub.id, p))
    }
  }
  return [...out].sort(compareTaskIds)
}
