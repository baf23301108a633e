// The one pipeline reset (a replay from earliest's first half; the API's admin reset and the CLI use
// it): the processor application reset as Kafka Streams' reset tool does it (topology/runtime/reset.ts)
// and the sinks' resets, their data cleared and their stored offsets set to the output topics' end
// (last stable) offsets read at the reset. The rebuilt application writes its results again after
// those offsets, so a sink applies only the rebuilt results, never the old ones a second time.
//
// Every group (the application's, each selected sink's) is checked for live members before anything
// changes: a live processor would write state the reset removes, a live sink would write data the
// reset cleared and move the offsets it set. The application's own late and dead-letter topics, which
// its alerts read, start at their end: the rebuild writes their records again. The archive is not
// reset by default: it holds the raw input log, which an application reset does not change, and Kafka
// may no longer have all of it (its retention is shorter than the archive's). Selected explicitly, it
// is emptied and archives again from the earliest offset Kafka still has.
import type { Admin } from '@platformatic/kafka'
import type { Config, SinkName } from '../config/config.js'
import type { Logger } from '../config/logger.js'
import { createAdmin, kafkaConnection } from '../kafka/clients.js'
import { listOffsetsWithAdmin, partitionKey, stableEnds } from '../kafka/partition-fetcher.js'
import { topicPartitions } from '../kafka/topics.js'
import { loadProcessorConfig, type ProcessorConfig } from '../processors/config.js'
import { configuredProcessorSerdes } from '../processors/serdes.js'
import { agentPartyTopology, runtimeTopics } from '../processors/topology.js'
import type { RedisSinkTarget } from '../sinks/redis/target.js'
import { createSinkTarget, type StartSinksOptions } from '../sinks/run-sinks.js'
import type { PartitionOffset, SinkTarget, TopicPartition } from '../sinks/runtime/target.js'
import type { ArchiveSinkTarget } from '../sinks/s3/archive.js'
import { TopologyError } from '../topology/errors.js'
import { type ResetReport, resetApplication } from '../topology/runtime/index.js'
import { resolveStreamsConfig } from '../topology/runtime/streams-config.js'

/** The sinks a reset clears when none are named: those that hold the processors' results. */
export const DEFAULT_RESET_SINKS: readonly SinkName[] = Object.freeze(['neo4j', 'redis'])

export interface ResetPipelineOptions {
  /** Instead of PROCESSOR_CONFIG: the application id and the topic names. */
  readonly processor?: ProcessorConfig
  /** The sinks to reset. Default DEFAULT_RESET_SINKS (not the archive: see the file's comment). */
  readonly sinks?: readonly SinkName[]
  /** Reset the processor application. Default true. */
  readonly resetProcessor?: boolean
  /**
   * Where the reset Neo4j and Redis sinks start: `end` (after the output topics' last stable
   * offsets: the application is rebuilt and writes its results again) or `earliest` (they rebuild
   * from the output topics as they are). Default `end` with the processor reset, `earliest` without.
   */
  readonly sinksFrom?: 'end' | 'earliest'
  /** Over SINK_GROUP_PREFIX: the sinks' groups are `<groupPrefix>-<sink>`, as run-sinks names them. */
  readonly groupPrefix?: string
  /** As startSinks takes them: the Redis key prefix, the archive's prefix, the sinks' ids. */
  readonly redisPrefix?: StartSinksOptions['redisPrefix']
  readonly archivePrefix?: StartSinksOptions['archivePrefix']
  readonly sinkId?: StartSinksOptions['sinkId']
  /**
   * How long to wait for an open transaction on a sink's topics to end (a processor that crashed
   * leaves one until the broker aborts it after the transaction timeout) before refusing. Default 30 s.
   */
  readonly openTransactionWaitMs?: number
  readonly logger?: Logger
  /** What a refusal names: the reset itself, or the replay that runs it (see refuseLiveGroups). */
  readonly action?: 'reset' | 'replay'
}

export interface SinkResetReport {
  readonly sink: SinkName
  /** The sink's id (its stored offsets' `sink`). */
  readonly id: string
  readonly groupId: string
  /** What reset() deleted, in words. */
  readonly cleared: string
  readonly from: 'end' | 'earliest'
  /** Offsets stored as the last applied ones (`from: 'end'`); a partition absent starts at its earliest. */
  readonly storedOffsets: readonly PartitionOffset[]
  /** The group's committed offsets now (the next offset each partition will read), for lag tools. */
  readonly groupOffsets: readonly PartitionOffset[]
}

export interface PipelineResetReport {
  readonly applicationId: string
  /** The application reset: input offsets set to the earliest, internal topics deleted; null when off. */
  readonly processor: ResetReport | null
  readonly sinks: readonly SinkResetReport[]
}

export type ResetRefusal = 'LIVE_MEMBERS' | 'OPEN_TRANSACTIONS'

/** A reset refused before anything changed (the API answers 409, the CLI exits with its own code). */
export class ResetRefusedError extends Error {
  readonly code = 'RESET_REFUSED'
  constructor(
    readonly reason: ResetRefusal,
    message: string,
    /** The groups with live members, and how many each has (LIVE_MEMBERS). */
    readonly groups: readonly { groupId: string; members: number; memberIds: readonly string[] }[] = [],
    /** Partitions whose last stable offset stays below their end (OPEN_TRANSACTIONS). */
    readonly partitions: readonly TopicPartition[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = 'ResetRefusedError'
  }
}

interface SelectedSink {
  readonly sink: SinkName
  readonly groupId: string
  readonly target: SinkTarget<unknown>
  readonly from: 'end' | 'earliest'
}

export async function resetPipeline(
  config: Config,
  options: ResetPipelineOptions = {},
): Promise<PipelineResetReport> {
  const processor = options.processor ?? loadProcessorConfig(config.processor.configFile)
  const resetProcessor = options.resetProcessor ?? true
  const sinksFrom = options.sinksFrom ?? (resetProcessor ? 'end' : 'earliest')
  const groupPrefix = options.groupPrefix ?? config.sinks.groupPrefix
  const names = [...new Set(options.sinks ?? DEFAULT_RESET_SINKS)]
  const log = options.logger
  const admin = createAdmin(config.kafka, 'reset')
  let selected: SelectedSink[] = []
  try {
    // First, and before anything else is needed (the registry for the serdes): live members refuse.
    await refuseLiveGroups(
      admin,
      [
        ...(resetProcessor ? [processor.applicationId] : []),
        ...names.map((sink) => `${groupPrefix}-${sink}`),
      ],
      options.action,
    )
    const serdes = await configuredProcessorSerdes(config, processor)
    selected = names.map((sink) => ({
      sink,
      groupId: `${groupPrefix}-${sink}`,
      target: createSinkTarget(sink, config, processor, serdes, options),
      // The archive's topics are the inputs: it starts again from what Kafka still has of them.
      from: sink === 'archive' ? 'earliest' : sinksFrom,
    }))
    const cannotStore = selected.find((s) => s.from === 'end' && s.target.storeOffsets === undefined)
    if (cannotStore)
      throw new Error(`sink ${cannotStore.sink} cannot store offsets: it cannot start at the end`)
    // Connects (and fails) before anything changes: a sink unreachable now refuses the whole reset.
    for (const s of selected) await s.target.open()
    const present = new Set(await admin.listTopics())
    const partitions = await topicPartitions(admin, [
      ...new Set(selected.flatMap((s) => s.target.topics.filter((t) => present.has(t)))),
    ])
    const earliest = await listOffsetsWithAdmin(admin, partitions, 'earliest')
    const ends = await stableEndOffsets(
      admin,
      partitions.filter((p) => selected.some((s) => s.from === 'end' && s.target.topics.includes(p.topic))),
      options.openTransactionWaitMs ?? 30_000,
    )

    let processorReport: ResetReport | null = null
    if (resetProcessor) {
      const topology = agentPartyTopology(processor, serdes)
      const streams = resolveStreamsConfig({
        applicationId: processor.applicationId,
        bootstrapServers: config.kafka.bootstrapServers,
        connection: kafkaConnection(config.kafka),
        ...(config.streams.stateDir ? { stateDir: config.streams.stateDir } : {}),
      })
      // With the state directory the processor would use: a process holding it is refused too.
      processorReport = await resetApplication(topology, {
        applicationId: streams.applicationId,
        bootstrapServers: streams.bootstrapServers,
        connection: streams.connection,
        stateDir: streams.stateDir,
      }).catch((error: unknown) => {
        // A member that joined (or a process that took the state directory) since the check above.
        if (error instanceof TopologyError && ['GROUP_HAS_MEMBERS', 'STATE_DIR_LOCKED'].includes(error.code))
          throw new ResetRefusedError('LIVE_MEMBERS', error.message, [], [], { cause: error })
        // A transaction still open on an entity output (the tables' changelogs): refused before any change.
        if (error instanceof TopologyError && error.code === 'TRANSACTION_OPEN')
          throw new ResetRefusedError('OPEN_TRANSACTIONS', error.message, [], [], { cause: error })
        throw error
      })
      // The application's own late and dead-letter topics are inputs too (the alerts count what they
      // hold), and the rebuild writes their records again: read from their end, so that each late or
      // undecodable event is counted once, not once for the old copy and once for the new one.
      const { late, deadLetter } = runtimeTopics(processor.applicationId)
      const own = await topicPartitions(
        admin,
        [late, deadLetter].filter((t) => present.has(t)),
      )
      if (own.length > 0) {
        const ownEnds = await stableEndOffsets(admin, own, options.openTransactionWaitMs ?? 30_000)
        const ownOffsets = own.map((p) => ({
          ...p,
          offset: ownEnds.get(partitionKey(p.topic, p.partition)) ?? 0,
        }))
        await commitGroupOffsets(admin, processor.applicationId, ownOffsets)
        const ownKeys = new Set(own.map((p) => partitionKey(p.topic, p.partition)))
        processorReport = {
          ...processorReport,
          inputOffsets: [
            ...processorReport.inputOffsets.filter((o) => !ownKeys.has(partitionKey(o.topic, o.partition))),
            ...ownOffsets,
          ],
        }
      }
      log?.info(
        { applicationId: processor.applicationId, deletedTopics: processorReport.deletedTopics },
        'processor application reset',
      )
    }

    const sinks: SinkResetReport[] = []
    for (const s of selected) {
      const mine = partitions.filter((p) => s.target.topics.includes(p.topic))
      const next = (p: TopicPartition) =>
        (s.from === 'end' ? ends : earliest).get(partitionKey(p.topic, p.partition)) ?? 0
      // The offset of the last record "applied": the one before the next to read (none before 0).
      const storedOffsets =
        s.from === 'end' ? mine.map((p) => ({ ...p, offset: next(p) - 1 })).filter((p) => p.offset >= 0) : []
      await s.target.reset()
      if (storedOffsets.length > 0) await s.target.storeOffsets?.(storedOffsets)
      const groupOffsets = mine.map((p) => ({ ...p, offset: next(p) }))
      await commitGroupOffsets(admin, s.groupId, groupOffsets)
      sinks.push({
        sink: s.sink,
        id: s.target.name,
        groupId: s.groupId,
        cleared: clearedText(s.sink, s.target),
        from: s.from,
        storedOffsets,
        groupOffsets,
      })
      log?.info({ sink: s.sink, from: s.from, partitions: mine.length }, 'sink reset')
    }
    return { applicationId: processor.applicationId, processor: processorReport, sinks }
  } finally {
    await Promise.allSettled(selected.map((s) => s.target.close()))
    await admin.close()
  }
}

/**
 * Refuses, naming every group with live members, when any of them has one: the reset's check, and the
 * replay's (`action: 'replay'`), which runs the processor and the sinks itself.
 */
export async function refuseLiveGroups(
  admin: Admin,
  groupIds: readonly string[],
  action: 'reset' | 'replay' = 'reset',
): Promise<void> {
  if (groupIds.length === 0) return
  const described = await admin.describeGroups({ groups: [...groupIds] })
  const live = groupIds.flatMap((groupId) => {
    const members = [...(described.get(groupId)?.members.values() ?? [])]
    return members.length === 0
      ? []
      : [{ groupId, members: members.length, memberIds: members.map((m) => m.groupInstanceId ?? m.id) }]
  })
  if (live.length === 0) return
  const stop =
    'stop every processor and sink instance first (a crashed static member leaves its group when its ' +
    'session times out)'
  throw new ResetRefusedError(
    'LIVE_MEMBERS',
    `${action} refused: ${live.map((g) => `group ${g.groupId} has ${g.members} live member(s)`).join(', ')}; ` +
      (action === 'replay'
        ? `a replay needs the pipeline stopped: ${stop}, then run the replay, which runs the processor and the sinks itself`
        : stop),
    live,
  )
}

/** Sets a group's committed offsets (what lag tools read; the sinks never read them back). */
async function commitGroupOffsets(
  admin: Admin,
  groupId: string,
  offsets: readonly PartitionOffset[],
): Promise<void> {
  const topics = [...new Set(offsets.map((o) => o.topic))]
  if (topics.length === 0) return
  await admin.alterConsumerGroupOffsets({
    groupId,
    topics: topics.map((name) => ({
      name,
      partitionOffsets: offsets
        .filter((o) => o.topic === name)
        .map((o) => ({ partition: o.partition, offset: BigInt(o.offset) })),
    })),
  })
}

/**
 * The last stable offsets (read_committed ends), once they equal the high watermarks: an open
 * transaction below the end could still commit old results after the offsets a sink starts from.
 */
async function stableEndOffsets(
  admin: Admin,
  partitions: readonly TopicPartition[],
  waitMs: number,
): Promise<Map<string, number>> {
  const { stable, open } = await stableEnds(admin, partitions, { waitMs, pollMs: 500 })
  if (open.length > 0)
    throw new ResetRefusedError(
      'OPEN_TRANSACTIONS',
      `reset refused: open transactions on ${open.map((p) => `${p.topic}-${p.partition}`).join(', ')} ` +
        `after ${waitMs} ms (a producer is still writing, or one that crashed has not timed out yet)`,
      [],
      open,
    )
  return stable
}

/** What a sink's reset cleared, in words, for the report. */
function clearedText(sink: SinkName, target: SinkTarget<unknown>): string {
  switch (sink) {
    case 'neo4j':
      return `every Agent, Team, Task and Capability node, and the offsets of sink ${target.name}`
    case 'redis':
      return `every key under ${(target as unknown as RedisSinkTarget).keys.prefix} but other sinks' offsets`
    case 'archive': {
      const archive = target as unknown as ArchiveSinkTarget
      return `every object of ${archive.topics.join(', ')} under s3://${archive.bucket}/${archive.prefix}`
    }
  }
}
