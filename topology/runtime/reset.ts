// The application reset, as Kafka Streams' reset tool does it: the group's offsets on its input topics
// go back to the earliest, its internal topics (changelogs, repartition topics) and their committed
// offsets are deleted, so the next start rebuilds every store from the input. Refused while the group
// has members: a live instance would keep writing state the reset just removed. Output topics are left
// as they are (a replay writes its results again; a sink that needs them cleared resets itself).
import type { Admin } from '@platformatic/kafka'
import { createAdmin, type KafkaConfig } from '../../kafka/clients.js'
import { listOffsetsWithAdmin, partitionKey } from '../../kafka/partition-fetcher.js'
import { topicPartitions } from '../../kafka/topics.js'
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
}

export async function resetApplication(topology: Topology, options: ResetOptions): Promise<ResetReport> {
  const { applicationId } = options
  if (options.stateDir !== undefined) lockStateDirectory(options.stateDir, applicationId, 'reset').release()
  const admin = createAdmin(
    {
      bootstrapServers: [...options.bootstrapServers],
      clientId: applicationId,
      replicationFactor: 1,
      ...options.connection,
    },
    'reset',
  )
  try {
    await refuseLiveMembers(admin, applicationId)
    const present = new Set(await admin.listTopics())
    const graph = topology.graph
    const inputs = [...new Set(topology.sourceTopics())].filter((t) => present.has(t))
    const internal = [
      ...graph.repartitionTopics.map((t) => repartitionTopicName(applicationId, t)),
      ...[...graph.stores.values()]
        .filter((s) => s.loggingEnabled)
        .map((s) => changelogTopicName(applicationId, s.name)),
      // The instances' event-time reports (eventTimeAlignment): about a run that is over.
      eventTimeTopicName(applicationId),
    ].filter((t) => present.has(t))

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
      await admin.deleteTopics({ topics: [...internal] })
    }
    return { inputOffsets, deletedTopics: internal }
  } finally {
    await admin.close()
  }
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
