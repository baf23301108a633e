// `agent-party topics create|describe`: the operations guide's kafka-topics jobs on the project's topics
// (the four input topics, the processor's outputs, its late-record and dead-letter topics) or on named
// ones. Creation reuses the definitions provisioning and the processor use; on an existing topic it
// raises the partition count only when forced (keys move to other partitions: keyed state and
// co-partitioning break), never lowers it (Kafka cannot), and sets the configs the user gave.
import {
  type Admin,
  ConfigResourceTypes,
  ConfigSources,
  IncrementalAlterConfigOperationTypes,
} from '@platformatic/kafka'
import type { Config } from '../config/config.js'
import { EVENT_TOPICS } from '../deploy/kafka/topics.js'
import { createAdmin } from '../kafka/clients.js'
import { letterTopicSpec } from '../kafka/dead-letter.js'
import { listOffsetsWithAdmin, partitionKey } from '../kafka/partition-fetcher.js'
import {
  describeTopics,
  diffTopic,
  ensureTopics,
  TopicMismatchError,
  type TopicSpec,
} from '../kafka/topics.js'
import { loadProcessorConfig, type ProcessorConfig } from '../processors/config.js'
import { outputTopicSpecs } from '../processors/outputs.js'
import { runtimeTopics } from '../processors/topology.js'
import { isEventFamily } from '../schemas/index.js'

/** A partition increase asked without --force: refused before anything changed. */
export class PartitionIncreaseRefusedError extends Error {
  readonly code = 'PARTITION_INCREASE_REFUSED'
  constructor(readonly increases: readonly { topic: string; from: number; to: number }[]) {
    super(
      `Refused, nothing changed: raising the partition count of ${increases
        .map((i) => `${i.topic} (${i.from} -> ${i.to})`)
        .join(', ')} moves keys to other partitions. Keyed state and co-partitioning break: the ` +
        "processor's state stores and changelogs no longer hold the keys their partition receives, and " +
        'joined topics no longer have their keys on the same partition numbers. Stop the pipeline, raise ' +
        'every co-partitioned topic alike and reset the application (agent-party reset) if you must; ' +
        'pass --force to do it anyway.',
    )
    this.name = 'PartitionIncreaseRefusedError'
  }
}

/** The four event topics as the operations guide defines them, under the names PROCESSOR_CONFIG gives. */
export function inputTopicSpecs(processor: ProcessorConfig): TopicSpec[] {
  return EVENT_TOPICS.map((spec) => ({
    ...spec,
    name: isEventFamily(spec.name) ? processor.inputTopics[spec.name] : spec.name,
  }))
}

/**
 * The project's topics, as provisioning and the processor create them: the event topics under the
 * names PROCESSOR_CONFIG gives them, the output topics, and the runtime's late-record and dead-letter
 * topics (one partition, records kept whatever their timestamps, as the runtime creates them when
 * missing).
 */
export function projectTopicSpecs(config: Config): TopicSpec[] {
  const processor = loadProcessorConfig(config.processor.configFile)
  const { late, deadLetter } = runtimeTopics(processor.applicationId)
  return [
    ...inputTopicSpecs(processor),
    ...outputTopicSpecs(processor.outputTopics),
    ...[late, deadLetter].map(letterTopicSpec),
  ]
}

export interface CreateTopicsOptions {
  /** Topics to create; default the project's. */
  readonly names?: readonly string[]
  /** Over the definition; a topic that is not the project's gets the broker's default without it. */
  readonly partitions?: number
  /** Sets retention.ms (over the definition and --config). */
  readonly retentionMs?: number
  /** Topic configs over the definition. */
  readonly configs?: Readonly<Record<string, string>>
  /** Raise the partition count of an existing topic. */
  readonly force?: boolean
}

export interface TopicCreateOutcome {
  readonly topic: string
  /** created; partitions raised (forced); configs set; or left as it was. */
  readonly action: 'created' | 'partitions-increased' | 'configs-set' | 'unchanged'
  readonly partitions: { readonly before: number | null; readonly after: number }
  /** The configs set on an existing topic (those the user gave that differed). */
  readonly configsSet: Readonly<Record<string, string>>
}

interface Plan {
  readonly spec: TopicSpec
  /** The partition count asked: from --partitions or the project's definition (undefined: broker default). */
  readonly partitions: number | undefined
}

/**
 * Creates the missing topics and brings the existing ones to what was asked. Checks everything first:
 * a partition decrease fails (TopicMismatchError), an increase without `force` is refused
 * (PartitionIncreaseRefusedError), both before anything changed. On an existing topic, only the configs
 * given in `options` are set; a difference from the project's definition alone is reported
 * (TopicMismatchError, after the other changes), as provisioning does.
 */
export async function createTopics(
  config: Config,
  options: CreateTopicsOptions = {},
): Promise<TopicCreateOutcome[]> {
  const project = new Map(projectTopicSpecs(config).map((s) => [s.name, s]))
  const names = options.names?.length ? [...new Set(options.names)] : [...project.keys()]
  const given: Record<string, string> = {
    ...options.configs,
    ...(options.retentionMs !== undefined ? { 'retention.ms': String(options.retentionMs) } : {}),
  }
  const plans: Plan[] = names.map((name) => {
    const defined = project.get(name)
    const partitions = options.partitions ?? defined?.partitions
    return {
      spec: { name, partitions: partitions ?? -1, configs: { ...defined?.configs, ...given } },
      partitions,
    }
  })
  const admin = createAdmin(config.kafka, 'topics')
  try {
    const present = new Set(await admin.listTopics())
    const existing = await describeTopics(
      admin,
      names.filter((n) => present.has(n)),
    )
    const actual = new Map(existing.map((d) => [d.name, d]))
    const decreases = plans.flatMap(({ spec, partitions }) => {
      const now = actual.get(spec.name)
      return now && partitions !== undefined && partitions < now.partitions
        ? [
            {
              topic: spec.name,
              setting: 'partitions',
              expected: String(partitions),
              actual: String(now.partitions),
            },
          ]
        : []
    })
    if (decreases.length > 0) throw new TopicMismatchError(decreases)
    const increases = plans.flatMap(({ spec, partitions }) => {
      const now = actual.get(spec.name)
      return now && partitions !== undefined && partitions > now.partitions
        ? [{ topic: spec.name, from: now.partitions, to: partitions }]
        : []
    })
    if (increases.length > 0 && !options.force) throw new PartitionIncreaseRefusedError(increases)

    const missing = plans.filter((p) => !actual.has(p.spec.name)).map((p) => p.spec)
    const { created } = await ensureTopics(admin, missing, config.kafka.replicationFactor)
    if (increases.length > 0) {
      await admin.createPartitions({ topics: increases.map((i) => ({ name: i.topic, count: i.to })) })
    }
    const outcomes: TopicCreateOutcome[] = []
    const unlike: { topic: string; setting: string; expected: string; actual: string }[] = []
    for (const { spec } of plans) {
      const now = actual.get(spec.name)
      if (now === undefined) {
        if (!created.includes(spec.name)) continue
        outcomes.push({
          topic: spec.name,
          action: 'created',
          partitions: { before: null, after: spec.partitions },
          configsSet: {},
        })
        continue
      }
      const toSet = Object.fromEntries(Object.entries(given).filter(([k, v]) => now.configs[k] !== v))
      if (Object.keys(toSet).length > 0) {
        await admin.incrementalAlterConfigs({
          resources: [
            {
              resourceType: ConfigResourceTypes.TOPIC,
              resourceName: spec.name,
              configs: Object.entries(toSet).map(([name, value]) => ({
                name,
                value,
                configOperation: IncrementalAlterConfigOperationTypes.SET,
              })),
            },
          ],
        })
      }
      // Partitions are the increase's and the decrease's above; the configs given are being set.
      unlike.push(...diffTopic(spec, now).filter((m) => m.setting !== 'partitions' && !(m.setting in given)))
      const increase = increases.find((i) => i.topic === spec.name)
      outcomes.push({
        topic: spec.name,
        action: increase
          ? 'partitions-increased'
          : Object.keys(toSet).length > 0
            ? 'configs-set'
            : 'unchanged',
        partitions: { before: now.partitions, after: increase?.to ?? now.partitions },
        configsSet: toSet,
      })
    }
    // Created with the broker's default partition count: say which it is.
    const unknownCount = outcomes
      .filter((o) => o.action === 'created' && o.partitions.after < 0)
      .map((o) => o.topic)
    const counts = new Map((await describeTopics(admin, unknownCount)).map((d) => [d.name, d.partitions]))
    const result = outcomes.map((o) =>
      counts.has(o.topic) ? { ...o, partitions: { before: null, after: counts.get(o.topic) ?? 0 } } : o,
    )
    if (unlike.length > 0) throw new TopicMismatchError(unlike)
    return result
  } finally {
    await admin.close()
  }
}

export interface PartitionOffsets {
  readonly partition: number
  readonly leader: number
  readonly replicas: readonly number[]
  readonly isr: readonly number[]
  /** The log start offset. */
  readonly earliest: number
  /** The high watermark (the next offset to be written). */
  readonly latest: number
}

export interface TopicReport {
  readonly topic: string
  readonly partitions: number
  readonly replicationFactor: number
  /** retention.ms as the broker applies it (-1: kept forever). */
  readonly retentionMs: string | null
  readonly cleanupPolicy: string | null
  /** The other configs set on the topic itself (not the broker's defaults). */
  readonly configs: Readonly<Record<string, string>>
  readonly partitionOffsets: readonly PartitionOffsets[]
}

/** Describes the named topics (default the project's); fails naming every topic that does not exist. */
export async function describeTopicReports(
  config: Config,
  names?: readonly string[],
): Promise<TopicReport[]> {
  const wanted = names?.length ? [...new Set(names)] : projectTopicSpecs(config).map((s) => s.name)
  const admin = createAdmin(config.kafka, 'topics')
  try {
    const present = new Set(await admin.listTopics())
    const missing = wanted.filter((n) => !present.has(n))
    if (missing.length > 0)
      throw new Error(`topic(s) ${missing.join(', ')} do not exist (agent-party topics create makes them)`)
    const metadata = await admin.metadata({ topics: [...wanted], forceUpdate: true })
    const configs = await topicConfigs(admin, wanted)
    const partitions = wanted.flatMap((topic) =>
      [...(metadata.topics.get(topic)?.partitions ?? [])].map((_, partition) => ({ topic, partition })),
    )
    const [earliest, latest] = await Promise.all([
      listOffsetsWithAdmin(admin, partitions, 'earliest'),
      listOffsetsWithAdmin(admin, partitions, 'latest'),
    ])
    return wanted.map((name) => {
      const meta = metadata.topics.get(name)
      if (!meta) throw new Error(`Topic ${name} is missing from the cluster metadata`)
      const { all, own } = configs.get(name) ?? { all: {}, own: {} }
      const { 'retention.ms': _r, 'cleanup.policy': _c, ...others } = own
      return {
        topic: name,
        partitions: meta.partitionsCount,
        replicationFactor: meta.partitions[0]?.replicas.length ?? 0,
        retentionMs: all['retention.ms'] ?? null,
        cleanupPolicy: all['cleanup.policy'] ?? null,
        configs: others,
        partitionOffsets: meta.partitions.map((p, partition) => ({
          partition,
          leader: p.leader,
          replicas: [...p.replicas],
          isr: [...p.isr],
          earliest: earliest.get(partitionKey(name, partition)) ?? 0,
          latest: latest.get(partitionKey(name, partition)) ?? 0,
        })),
      }
    })
  } finally {
    await admin.close()
  }
}

/**
 * Each topic's configs from one DescribeConfigs: `all` in effect (broker defaults included) and `own`,
 * those set on the topic itself (source DYNAMIC_TOPIC_CONFIG).
 */
async function topicConfigs(
  admin: Admin,
  names: readonly string[],
): Promise<Map<string, { all: Record<string, string>; own: Record<string, string> }>> {
  const described = await admin.describeConfigs({
    resources: names.map((resourceName) => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName })),
  })
  return new Map(
    described.map((d) => {
      const set = d.configs.filter((c) => c.value !== null)
      const entries = (list: typeof set) => Object.fromEntries(list.map((c) => [c.name, c.value as string]))
      return [
        d.resourceName,
        {
          all: entries(set),
          own: entries(set.filter((c) => c.configSource === ConfigSources.DYNAMIC_TOPIC_CONFIG)),
        },
      ]
    }),
  )
}
