// What a topology needs on the cluster before it can run: its source topics present, the topics a join
// reads together with equal partition counts, and its internal topics created with the right settings
// (Kafka Streams' InternalTopicManager): changelogs compacted with one partition per task; repartition
// topics with infinite retention (the runtime purges them up to the committed offset) and as many
// partitions as the sub-topology that writes them reads, or as the topics they are joined with.
import type { Admin } from '@platformatic/kafka'
import { letterTopicSpec } from '../../kafka/dead-letter.js'
import { describeTopics, ensureTopics, type TopicSpec, untilListed } from '../../kafka/topics.js'
import { TopologyError } from '../errors.js'
import { changelogTopicName, repartitionTopicName } from '../internals/graph/names.js'
import type { TopologyGraph } from '../internals/graph/topology-graph.js'
import type { SubtopologyPartitions } from './task-assignor.js'

export interface TopologyLayout {
  /** Each sub-topology with the full names of its source topics. */
  readonly subtopologies: readonly SubtopologyPartitions[]
  /** Partition count of every source topic, internal ones included. */
  readonly partitions: ReadonlyMap<string, number>
  /** The internal topics to create, with their specs. */
  readonly internalTopics: readonly TopicSpec[]
  /** Full names of the repartition topics (purged up to the committed offset). */
  readonly repartitionTopics: readonly string[]
}

function fullName(applicationId: string, ref: { topic: string; internal: boolean }): string {
  return ref.internal ? repartitionTopicName(applicationId, ref.topic) : ref.topic
}

/**
 * Works out the partition counts of the internal topics from those of the user's topics (`existing`:
 * topic -> partition count, as the cluster has them) and checks co-partitioning. Pure.
 */
export function planTopology(
  graph: TopologyGraph,
  applicationId: string,
  existing: ReadonlyMap<string, number>,
): TopologyLayout {
  const subtopologies = graph.subtopologies.map((s) => ({
    id: s.id,
    topics: s.sourceTopics.map((t) => fullName(applicationId, t)),
  }))
  const missing = graph.subtopologies
    .flatMap((s) => s.sourceTopics)
    .filter((t) => !t.internal && !existing.has(t.topic))
    .map((t) => t.topic)
  if (missing.length > 0) {
    throw new TopologyError(
      'MISSING_SOURCE_TOPIC',
      `source topic(s) ${[...new Set(missing)].join(', ')} do not exist: create them before starting ` +
        '(for the Agent Party topics: agent-party provision)',
      { subject: missing[0] },
    )
  }
  const partitions = new Map<string, number>()
  for (const s of graph.subtopologies) {
    for (const t of s.sourceTopics) if (!t.internal) partitions.set(t.topic, existing.get(t.topic) as number)
  }
  // Which sub-topology writes each repartition topic.
  const writer = new Map<string, number>()
  for (const s of graph.subtopologies) {
    for (const name of s.nodes) {
      const node = graph.nodes.get(name)
      if (node?.kind === 'sink' && node.internal) writer.set(node.topic, s.id)
    }
  }
  const resolving = new Set<string>()
  const repartitionCount = (topic: string): number => {
    const full = repartitionTopicName(applicationId, topic)
    const known = partitions.get(full)
    if (known !== undefined) return known
    if (resolving.has(topic)) return 1
    resolving.add(topic)
    const sub = graph.subtopologies.find((s) => s.id === writer.get(topic))
    const upstream = (sub?.sourceTopics ?? []).map((t) =>
      t.internal ? repartitionCount(t.topic) : (partitions.get(t.topic) ?? 1),
    )
    const count = Math.max(1, ...upstream)
    partitions.set(full, count)
    return count
  }
  // Co-partitioned groups first: their repartition topics take the count of the user topics they join.
  for (const group of graph.copartitionGroups) {
    const external = group.filter((t) => !t.internal).map((t) => partitions.get(t.topic) ?? 1)
    const internal = group.filter((t) => t.internal)
    if (internal.length === 0) continue
    const count =
      external.length > 0
        ? Math.max(...external)
        : Math.max(...internal.map((t) => repartitionCount(t.topic)))
    for (const t of internal) partitions.set(repartitionTopicName(applicationId, t.topic), count)
  }
  for (const topic of graph.repartitionTopics) repartitionCount(topic)
  for (const group of graph.copartitionGroups) {
    const counts = group.map((t) => ({
      topic: fullName(applicationId, t),
      count: partitions.get(fullName(applicationId, t)),
    }))
    if (new Set(counts.map((c) => c.count)).size > 1) {
      throw new TopologyError(
        'COPARTITIONING_MISMATCH',
        `topics joined together must have the same number of partitions, but ${counts
          .map((c) => `${c.topic} has ${c.count}`)
          .join(', ')}: repartition one side (KStream.repartition()) or recreate the topic`,
        { subject: counts[0]?.topic },
      )
    }
  }
  const taskCount = (subId: number): number => {
    const sub = subtopologies.find((s) => s.id === subId)
    return Math.max(1, ...(sub?.topics ?? []).map((t) => partitions.get(t) ?? 1))
  }
  const internalTopics: TopicSpec[] = []
  for (const topic of graph.repartitionTopics) {
    const full = repartitionTopicName(applicationId, topic)
    internalTopics.push({
      name: full,
      partitions: partitions.get(full) ?? 1,
      configs: { 'cleanup.policy': 'delete', 'retention.ms': '-1' },
    })
  }
  for (const s of graph.subtopologies) {
    for (const store of s.stores) {
      const spec = graph.stores.get(store)
      if (spec?.loggingEnabled !== true) continue
      if (spec.changelogTopic !== undefined) {
        checkUserChangelog(spec.name, spec.changelogTopic, existing.get(spec.changelogTopic), taskCount(s.id))
        continue
      }
      internalTopics.push({
        name: changelogTopicName(applicationId, store),
        partitions: taskCount(s.id),
        configs: { 'cleanup.policy': 'compact' },
      })
    }
  }
  return {
    subtopologies,
    partitions,
    internalTopics,
    repartitionTopics: graph.repartitionTopics.map((t) => repartitionTopicName(applicationId, t)),
  }
}

// A user topic a store logs into (Materialized.withChangelogTopic): task p writes and restores partition p.
function checkUserChangelog(store: string, topic: string, count: number | undefined, tasks: number): void {
  if (count === undefined) {
    throw new TopologyError(
      'MISSING_SINK_TOPIC',
      `topic ${topic}, the changelog of store ${store}, does not exist: create it (compacted, ${tasks} partitions) before starting`,
      { subject: topic },
    )
  }
  if (count !== tasks) {
    throw new TopologyError(
      'INVALID_CHANGELOG_TOPIC',
      `topic ${topic}, the changelog of store ${store}, has ${count} partitions but the store has ${tasks} tasks ` +
        `(one per partition of the topics it reads): recreate the topic with ${tasks} partitions`,
      { subject: topic },
    )
  }
}

/**
 * Why a user changelog topic's settings would lose records a restore needs, or undefined: compaction,
 * and no time or size limit when records are also deleted.
 */
export function userChangelogConfigProblem(configs: Readonly<Record<string, string>>): string | undefined {
  const policy = (configs['cleanup.policy'] ?? 'delete').split(',').map((p) => p.trim())
  if (!policy.includes('compact'))
    return `cleanup.policy is ${configs['cleanup.policy'] ?? 'delete'}, not compact`
  if (policy.includes('delete') && (configs['retention.ms'] ?? '-1') !== '-1')
    return `cleanup.policy ${configs['cleanup.policy']} deletes records after retention.ms ${configs['retention.ms']}`
  if (policy.includes('delete') && (configs['retention.bytes'] ?? '-1') !== '-1')
    return `cleanup.policy ${configs['cleanup.policy']} deletes records past retention.bytes ${configs['retention.bytes']}`
  return undefined
}

/** How long a missing output topic is looked for before the refusal (it may have just been created). */
const SINK_TOPIC_WAIT_MS = 3000

/** Reads the user topics' partition counts, plans, and creates (or checks) the internal topics. */
export async function prepareTopics(
  admin: Admin,
  graph: TopologyGraph,
  applicationId: string,
  replicationFactor: number,
  outputTopics: readonly string[],
): Promise<TopologyLayout> {
  const userTopics = [
    ...new Set(
      graph.subtopologies.flatMap((s) => s.sourceTopics.filter((t) => !t.internal).map((t) => t.topic)),
    ),
  ]
  let present = new Set(await admin.listTopics())
  // Output topics are the user's to create (with their partitions and retention), as in Kafka Streams;
  // one missing would fail every commit, so say it now. A topic created a moment ago may not be listed
  // yet (CreateTopics answers before every broker's metadata has it): looked for again for a few seconds.
  // A topic a store logs into (Materialized.withChangelogTopic) is an output topic too.
  const userChangelogs = [...graph.stores.values()].flatMap((s) =>
    s.loggingEnabled && s.changelogTopic !== undefined ? [{ store: s.name, topic: s.changelogTopic }] : [],
  )
  const sinks = [
    ...new Set([
      ...[...graph.nodes.values()].flatMap((n) => (n.kind === 'sink' && !n.internal ? [n.topic] : [])),
      ...userChangelogs.map((c) => c.topic),
    ]),
  ]
  let missingSinks = sinks.filter((t) => !present.has(t))
  if (missingSinks.length > 0) {
    await untilListed(admin, missingSinks, { timeoutMs: SINK_TOPIC_WAIT_MS }).catch(() => undefined)
    present = new Set(await admin.listTopics())
    missingSinks = sinks.filter((t) => !present.has(t))
  }
  if (missingSinks.length > 0) {
    throw new TopologyError(
      'MISSING_SINK_TOPIC',
      `output topic(s) ${missingSinks.join(', ')} do not exist: create them before starting`,
      { subject: missingSinks[0] },
    )
  }
  // The dead-letter and late-record topics: created when missing (letterTopicSpec),
  // kept as they are when present (a user may have made them with more partitions or another retention).
  // Before the source check: a topology may read them (the Agent Party alerts count their records).
  const missing = outputTopics.filter((t) => !present.has(t))
  if (missing.length > 0) {
    await ensureTopics(admin, missing.map(letterTopicSpec), replicationFactor)
    for (const t of missing) present.add(t)
  }
  const existing = new Map<string, number>()
  const found = userTopics.filter((t) => present.has(t))
  if (found.length > 0) {
    const metadata = await admin.metadata({ topics: [...found], forceUpdate: true })
    for (const t of found) {
      const count = metadata.topics.get(t)?.partitionsCount
      if (count !== undefined) existing.set(t, count)
    }
  }
  if (userChangelogs.length > 0) {
    const described = await describeTopics(admin, [...new Set(userChangelogs.map((c) => c.topic))])
    for (const topic of described) {
      existing.set(topic.name, topic.partitions)
      const problem = userChangelogConfigProblem(topic.configs)
      if (problem !== undefined) {
        const store = userChangelogs.find((c) => c.topic === topic.name)?.store
        throw new TopologyError(
          'INVALID_CHANGELOG_TOPIC',
          `topic ${topic.name}, the changelog of store ${store}, would lose records a restore needs: ${problem}; ` +
            `set cleanup.policy=compact on it (kafka-configs --alter --add-config cleanup.policy=compact)`,
          { subject: topic.name },
        )
      }
    }
  }
  const layout = planTopology(graph, applicationId, existing)
  await ensureTopics(admin, [...layout.internalTopics], replicationFactor)
  return layout
}
