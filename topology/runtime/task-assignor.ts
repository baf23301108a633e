// Which instance runs which task. A task is one partition number of one sub-topology, and it reads that
// partition of every source topic of the sub-topology, so a join's inputs (co-partitioned) always meet
// on one instance: the client's round-robin assignor spreads topic-partitions without that guarantee.
// Tasks stay with their previous owner while it has room (its state is warm), then go to the least
// loaded instance; every instance ends with ⌊n/m⌋ or ⌈n/m⌉ tasks. Pure, deterministic for one input.
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
}

/** What each instance puts in its subscription's user data: who it is and what it ran. */
export interface SubscriptionInfo {
  readonly version: 1
  readonly instanceId: string
  readonly tasks: readonly string[]
}

export function encodeSubscriptionInfo(info: Omit<SubscriptionInfo, 'version'>): Buffer {
  return Buffer.from(JSON.stringify({ version: 1, ...info }))
}

export function decodeSubscriptionInfo(
  data: Buffer | string | undefined | null,
): SubscriptionInfo | undefined {
  if (data === undefined || data === null || data.length === 0) return undefined
  try {
    const parsed = JSON.parse(data.toString()) as Partial<SubscriptionInfo>
    if (parsed.version !== 1 || !Array.isArray(parsed.tasks)) return undefined
    return { version: 1, instanceId: String(parsed.instanceId ?? ''), tasks: parsed.tasks.map(String) }
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

/** Balanced and sticky: the result maps every member (sorted by id) to its sorted task ids. */
export function assignTasks(
  tasks: readonly string[],
  members: readonly AssignorMember[],
): Map<string, string[]> {
  const sorted = [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
  const out = new Map<string, string[]>(sorted.map((m) => [m.memberId, []]))
  if (sorted.length === 0) return out
  const base = Math.floor(tasks.length / sorted.length)
  let extra = tasks.length % sorted.length
  // Capacity: the first `extra` members that claim one more get ⌈n/m⌉ (one more at most), the others ⌊n/m⌋.
  const capacity = new Map(sorted.map((m) => [m.memberId, base]))
  const wanted = new Set(tasks)
  const taken = new Set<string>()
  const grant = (member: string, task: string): void => {
    out.get(member)?.push(task)
    taken.add(task)
  }
  // Sticky pass: previous owners keep what they can (a task claimed twice goes to the first member).
  for (const m of sorted) {
    for (const task of [...m.previousTasks].sort(compareTaskIds)) {
      if (!wanted.has(task) || taken.has(task)) continue
      const held = out.get(m.memberId)?.length ?? 0
      const cap = capacity.get(m.memberId) ?? 0
      if (held < cap) grant(m.memberId, task)
      else if (held === cap && cap === base && extra > 0) {
        capacity.set(m.memberId, cap + 1)
        extra--
        grant(m.memberId, task)
      }
    }
  }
  // The rest to the least loaded member (ties: by member id).
  for (const task of [...tasks].sort(compareTaskIds)) {
    if (taken.has(task)) continue
    let best: string | undefined
    for (const m of sorted) {
      const held = out.get(m.memberId)?.length ?? 0
      const cap = capacity.get(m.memberId) ?? 0
      const room = held < cap || (held === cap && cap === base && extra > 0)
      if (!room) continue
      if (best === undefined || held < (out.get(best)?.length ?? 0)) best = m.memberId
    }
    if (best === undefined) best = sorted[0]?.memberId as string
    const held = out.get(best)?.length ?? 0
    if (held >= (capacity.get(best) ?? 0)) {
      capacity.set(best, held + 1)
      extra--
    }
    grant(best, task)
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
