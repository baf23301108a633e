// The application reset, as Kafka Streams' reset tool does it: the group's offsets on its input topics
// go back to the earliest, its internal topics (changelogs, repartition topics) and their committed
// offsets are deleted, so the next start rebuilds every store from the input. Refused while the group
// has members: a live instance would keep writing state the reset just removed. Output topics are left
// as they are (a replay writes its results again; a sink that needs them cleared resets itself), except
// those a store logs into (Materialized.withChangelogTopic): kept, with a tombstone for every key.
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Admin } from '@platformatic/kafka'
import { createAdmin, createConsumer, createProducer, type KafkaConfig } from '../../kafka/clients.js'
import {
  listOffsetsWithAdmin,
  PartitionFetcher,
  partitionKey,
  stableEnds,
} from '../../kafka/partition-fetcher.js'
import { deleteTopicsUntilGone, topicPartitions } from '../../kafka/topics.js'
import { TopologyError } from '../errors.js'
import { changelogTopicName, repartitionTopicName } from '../internals/graph/names.js'
import type { Topology } from '../topology.js'
import { eventTimeTopicName } from './event-time-alignment.js'
import { lockStateDirectory } from './state-directory.js'

export interface ResetOptions {
  readonly applicationId: string
  readonly bootstrapServers: readonly string[]
  /** SASL and TLS, as the application's clients connect. */
  readonly connection?: Pick<KafkaConfig, 'sasl' | 'tls'>
  /** When given, the reset also refuses while a live process holds this application's state directory. */
  readonly stateDir?: string
}

export interface ResetReport {
  /** Input topic partitions whose committed offset was set to the earliest, with that offset. */
  readonly inputOffsets: readonly { topic: string; partition: number; offset: number }[]
  readonly deletedTopics: readonly string[]
  /**
   * The topics of the user's that stores log into (Materialized.withChangelogTopic), kept, with a
   * tombstone written for every key whose last value was not one: how many per partition.
   */
  readonly clearedTopics: readonly { topic: string; partition: number; tombstones: number }[]
}

export async function resetApplication(topology: Topology, options: ResetOptions): Promise<ResetReport> {
  const { applicationId } = options
  if (options.stateDir !== undefined) {
    const lock = lockStateDirectory(options.stateDir, applicationId, 'reset')
    // This machine's LMDB files and their checkpoint (the stores restore from the start anyway: the
    // internal changelogs get new topic ids, which a checkpoint elsewhere is checked against).
    rmSync(join(lock.directory, 'lmdb'), { recursive: true, force: true })
    lock.release()
  }
  const kafka: KafkaConfig = {
    bootstrapServers: [...options.bootstrapServers],
    clientId: applicationId,
    replicationFactor: 1,
    ...options.connection,
  }
  const admin = createAdmin(kafka, 'reset')
  try {
    await refuseLiveMembers(admin, applicationId)
    const present = new Set(await admin.listTopics())
    const graph = topology.graph
    const inputs = [...new Set(topology.sourceTopics())].filter((t) => present.has(t))
    const internal = [
      ...graph.repartitionTopics.map((t) => repartitionTopicName(applicationId, t)),
      ...[...graph.stores.values()]
        .filter((s) => s.loggingEnabled && s.changelogTopic === undefined)
        .map((s) => changelogTopicName(applicationId, s.name)),
      // The instances' event-time reports (eventTimeAlignment): about a run that is over.
      eventTimeTopicName(applicationId),
    ].filter((t) => present.has(t))

    // Topics of the user's that stores log into (Materialized.withChangelogTopic) are kept, with a
    // tombstone for every key: a store restored from them would start the replay from the last run's
    // results. Their live keys are read before anything changes: a transaction still open on them
    // refuses the reset with nothing done.
    const cleared = [
      ...new Set(
        [...graph.stores.values()].flatMap((s) =>
          s.loggingEnabled && s.changelogTopic !== undefined ? [s.changelogTopic] : [],
        ),
      ),
    ].filter((t) => present.has(t))
    const liveKeys = await readLiveKeys(admin, kafka, applicationId, cleared)

    const inputOffsets: { topic: string; partition: number; offset: number }[] = []
    if (inputs.length > 0) {
      const partitions = await topicPartitions(admin, inputs)
      const earliest = await listOffsetsWithAdmin(admin, partitions, 'earliest')
      for (const p of partitions)
        inputOffsets.push({ ...p, offset: earliest.get(partitionKey(p.topic, p.partition)) ?? 0 })
      await admin.alterConsumerGroupOffsets({
        groupId: applicationId,
        topics: inputs.map((name) => ({
          name,
          partitionOffsets: inputOffsets
            .filter((o) => o.topic === name)
            .map((o) => ({ partition: o.partition, offset: BigInt(o.offset) })),
        })),
      })
    }
    if (internal.length > 0) {
      // Offsets of the repartition topics would otherwise outlive them and apply to their successors.
      const repartition = internal.filter((t) => t.endsWith('-repartition'))
      if (repartition.length > 0) {
        const metadata = await admin.metadata({ topics: [...repartition], forceUpdate: true })
        await admin
          .deleteConsumerGroupOffsets({
            groupId: applicationId,
            topics: repartition.map((name) => ({
              name,
              partitionIndexes: Array.from(
                { length: metadata.topics.get(name)?.partitionsCount ?? 0 },
                (_, i) => i,
              ),
            })),
          })
          .catch(() => {})
      }
      await deleteTopicsUntilGone(admin, internal)
    }
    const clearedTopics = await writeTombstones(kafka, applicationId, liveKeys)
    return { inputOffsets, deletedTopics: internal, clearedTopics }
  } finally {
    await admin.close()
  }
}

interface LiveKeys {
  readonly partition: { readonly topic: string; readonly partition: number }
  /** The keys whose last committed value is not a tombstone. */
  readonly keys: readonly Buffer[]
}

/**
 * The keys to clear in the topics stores log into (Materialized.withChangelogTopic): every key whose
 * last committed value is not a tombstone, per partition. Read-only. Refused (`TRANSACTION_OPEN`)
 * while a transaction is still open on a partition (a crashed instance's, until the broker aborts it):
 * its records could still commit after the tombstones.
 */
async function readLiveKeys(
  admin: Admin,
  kafka: KafkaConfig,
  applicationId: string,
  topics: readonly string[],
): Promise<LiveKeys[]> {
  if (topics.length === 0) return []
  const partitions = await topicPartitions(admin, topics)
  const { stable, open } = await stableEnds(admin, partitions)
  if (open.length > 0) {
    throw new TopologyError(
      'TRANSACTION_OPEN',
      `a transaction is still open on ${open.map((p) => `${p.topic}-${p.partition}`).join(', ')} (an instance that ` +
        'stopped without closing): nothing was reset; reset again once the broker has ended it (at most the ' +
        'transaction timeout)',
      { subject: open[0]?.topic },
    )
  }
  const starts = await listOffsetsWithAdmin(admin, partitions, 'earliest')
  const live = new Map<string, Map<string, Buffer>>()
  let positions = partitions
    .map((p) => ({ ...p, offset: starts.get(partitionKey(p.topic, p.partition)) ?? 0 }))
    .filter((p) => p.offset < (stable.get(partitionKey(p.topic, p.partition)) ?? 0))
  const consumer = createConsumer(kafka, `${applicationId}-reset`, { clientId: `${applicationId}-reset` })
  try {
    const fetcher = new PartitionFetcher(consumer, { isolation: 'read_committed', maxWaitMs: 100 })
    while (positions.length > 0) {
      const fetched = await fetcher.fetch(positions)
      const next = new Map(positions.map((p) => [partitionKey(p.topic, p.partition), p]))
      for (const batch of fetched) {
        const key = partitionKey(batch.topic, batch.partition)
        const end = stable.get(key) ?? 0
        const keys = live.get(key) ?? live.set(key, new Map()).get(key)
        for (const r of batch.records) {
          if (r.offset >= end || r.key === null) continue
          const id = r.key.toString('base64')
          if (r.value === null) keys?.delete(id)
          else keys?.set(id, r.key)
        }
        if (batch.nextOffset >= end) next.delete(key)
        else next.set(key, { topic: batch.topic, partition: batch.partition, offset: batch.nextOffset })
      }
      positions = [...next.values()]
    }
  } finally {
    await consumer.close()
  }
  return partitions.map((p) => ({
    partition: p,
    keys: [...(live.get(partitionKey(p.topic, p.partition))?.values() ?? [])],
  }))
}

/**
 * A tombstone for each live key, on its partition: what a compacted topic's reader takes as "gone", so
 * a restore from it ends empty (a broker refuses DeleteRecords on a compacted topic: POLICY_VIOLATION).
 */
async function writeTombstones(
  kafka: KafkaConfig,
  applicationId: string,
  live: readonly LiveKeys[],
): Promise<{ topic: string; partition: number; tombstones: number }[]> {
  const messages = live.flatMap(({ partition, keys }) =>
    keys.map((key) => ({ ...partition, key, value: null as unknown as Buffer })),
  )
  if (messages.length > 0) {
    const producer = createProducer(kafka, { clientId: `${applicationId}-reset` })
    try {
      for (let i = 0; i < messages.length; i += 1000)
        await producer.send({ messages: messages.slice(i, i + 1000) })
    } finally {
      await producer.close()
    }
  }
  return live.map(({ partition, keys }) => ({ ...partition, tombstones: keys.length }))
}

async function refuseLiveMembers(admin: Admin, applicationId: string): Promise<void> {
  const groups = await admin.describeGroups({ groups: [applicationId] })
  const group = groups.get(applicationId)
  if (group === undefined || group.members.size === 0) return
  const members = [...group.members.values()].map((m) => m.groupInstanceId ?? m.id)
  throw new TopologyError(
    'GROUP_HAS_MEMBERS',
    `group ${applicationId} has ${members.length} live member(s) (${members.join(', ')}): stop every instance ` +
      'first (a crashed static member leaves the group when its session times out)',
    { subject: applicationId },
  )
}
