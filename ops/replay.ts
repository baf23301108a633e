// Replay from earliest (`agent-party replay`, the API's admin replay): the sinks' state digested
// (ops/replay-digest.ts), the pipeline reset (ops/reset.ts: the application reset, the Neo4j and Redis
// sinks cleared with their stored offsets at the outputs' end), the rebuild run in this process (the
// processor and the sinks as `run processor` and `run sinks` start them) until the processor has
// consumed every input record there was at the start and every sink has applied every output record
// there was once the processor caught up, then both stopped, the state digested again and compared.
// Progress goes to a callback: events/s and ETA from the processor group's committed offsets against
// the input ends taken at the start, then the sinks' committed offsets against the outputs' ends.
//
// Replay from the archive (replayFromArchive): for history older than Kafka's retention, the archive's
// records of each input topic are re-published, in offset order and to the same partition number,
// into a replay topic (`<input>.replay`, emptied first: deleted and created with the input's partition
// count, kept forever, since the records keep their old timestamps), and the replay above runs with
// a processor configuration reading those topics under the same application id: the application
// reset resets the topics the topology reads, the replay topics. The user then starts the pipeline
// normally (on the input topics, whose committed offsets the replay left where they were).
//
// The pipeline must be stopped: a live member of the processor's group or of a sink's group refuses
// the replay before anything is read or changed (ResetRefusedError, LIVE_MEMBERS).
import { type Admin, FetchIsolationLevels } from '@platformatic/kafka'
import type { Config, SinkName } from '../config/config.js'
import { createRootLogger, type Logger } from '../config/logger.js'
import { createAdmin, createProducer } from '../kafka/clients.js'
import { GroupLagReader } from '../kafka/group-lag.js'
import { listOffsetsWithAdmin, partitionKey } from '../kafka/partition-fetcher.js'
import { recreateTopic, topicPartitions } from '../kafka/topics.js'
import { loadProcessorConfig, type ProcessorConfig } from '../processors/config.js'
import { type RunningProcessor, startProcessor } from '../processors/run-processor.js'
import { type EventFamily, RegistryClient, registerEventSchemas } from '../schemas/index.js'
import { type RunningSinks, type StartSinksOptions, startSinks } from '../sinks/run-sinks.js'
import type { TopicPartition } from '../sinks/runtime/target.js'
import { ArchiveReader, republish } from '../sinks/s3/archive-reader.js'
import { createS3Client } from '../sinks/s3/client.js'
import {
  compareDigests,
  type DigestComparison,
  digestSinks,
  type GraphScope,
  type SinkDigest,
} from './replay-digest.js'
import { type PipelineResetReport, refuseLiveGroups, resetPipeline } from './reset.js'

/** `republish`: a replay from the archive re-publishing it into the replay topics (before the others). */
export type ReplayPhase = 'republish' | 'snapshot-before' | 'reset' | 'processor' | 'sinks' | 'snapshot-after'

export interface ReplayProgress {
  readonly phase: ReplayPhase
  /** Records done and to do in this phase: input events (processor), output records (sinks). */
  readonly done: number
  readonly total: number
  readonly unit: 'events' | 'records'
  /** Since the phase began. */
  readonly elapsedMs: number
  readonly perSecond: number
  /** Estimated time left in this phase; null when nothing moved yet. */
  readonly etaMs: number | null
}

export type ReplaySink = Extract<SinkName, 'neo4j' | 'redis'>

export interface ReplayOptions {
  /** Instead of PROCESSOR_CONFIG. */
  readonly processor?: ProcessorConfig
  /** The sinks to rebuild and compare. Default neo4j and redis (the archive is the raw input log). */
  readonly sinks?: readonly ReplaySink[]
  /** Over SINK_GROUP_PREFIX. */
  readonly groupPrefix?: string
  /** As startSinks takes them (tests). */
  readonly redisPrefix?: string
  readonly sinkId?: StartSinksOptions['sinkId']
  readonly runner?: StartSinksOptions['runner']
  /** What of the graph the digests cover. Default every node (see ops/replay-digest.ts). */
  readonly graph?: GraphScope
  /** Skip the digests and the comparison (a benchmark times the rebuild alone). Default true. */
  readonly compare?: boolean
  /** The whole rebuild (processor and sinks) must end within this. Default 1 h. */
  readonly timeoutMs?: number
  readonly onProgress?: (progress: ReplayProgress) => void
  /** How often the offsets are read. Default 1000 ms. */
  readonly pollMs?: number
  /** Partitions of output topics the processor creates when missing (startProcessor's option). */
  readonly outputPartitions?: number
  readonly openTransactionWaitMs?: number
  /** For the processor and the sinks run in this process. Default: the configuration's, on stderr. */
  readonly logger?: Logger
}

export interface ReplayPhases {
  readonly snapshotBeforeMs: number
  readonly resetMs: number
  /** Processor and sinks start until the processor consumed every input record (and its repartitions). */
  readonly processorMs: number
  /** Then until every sink applied every output record. */
  readonly sinksMs: number
  readonly snapshotAfterMs: number
}

export interface ReplayResult {
  readonly applicationId: string
  readonly inputTopics: readonly string[]
  /** Input records replayed (between the earliest offsets and the ends at the start). */
  readonly events: number
  /** Output records the sinks applied in the rebuild (between the reset's ends and the outputs' ends once the processor caught up), summed over the sinks. */
  readonly outputRecords: number
  /** events / (processorMs + sinksMs). */
  readonly eventsPerSecond: number
  readonly phases: ReplayPhases
  readonly reset: PipelineResetReport
  /** Null with `compare: false`. */
  readonly before: SinkDigest | null
  readonly after: SinkDigest | null
  readonly comparison: DigestComparison | null
}

/** A replay that completed, and whose rebuilt deterministic state differs from the state before. */
export class ReplayDifferenceError extends Error {
  readonly code = 'REPLAY_DIFFERENT'
  constructor(readonly tables: readonly string[]) {
    super(
      `replay: the rebuilt deterministic state differs from the state before in ${tables.join(', ')} (see the report)`,
    )
    this.name = 'ReplayDifferenceError'
  }
}

export class ReplayTimeoutError extends Error {
  readonly code = 'REPLAY_TIMEOUT'
  constructor(
    readonly phase: ReplayPhase,
    readonly timeoutMs: number,
    detail: string,
  ) {
    super(
      `replay timed out after ${timeoutMs} ms in phase ${phase} (${detail}); the processor and the sinks ` +
        'were stopped: run the replay again, or start them normally to finish the rebuild',
    )
    this.name = 'ReplayTimeoutError'
  }
}

const DEFAULT_SINKS: readonly ReplaySink[] = Object.freeze(['neo4j', 'redis'])

export async function replayPipeline(config: Config, options: ReplayOptions = {}): Promise<ReplayResult> {
  const processor = options.processor ?? loadProcessorConfig(config.processor.configFile)
  const sinks = [...new Set(options.sinks ?? DEFAULT_SINKS)]
  for (const s of sinks)
    if ((s as string) !== 'neo4j' && (s as string) !== 'redis')
      throw new RangeError(`a replay rebuilds neo4j and redis, not ${s} (the archive is the raw input log)`)
  const groupPrefix = options.groupPrefix ?? config.sinks.groupPrefix
  const sinkConfig: Config = { ...config, sinks: { ...config.sinks, groupPrefix } }
  const compare = options.compare ?? true
  const timeoutMs = options.timeoutMs ?? 3_600_000
  const pollMs = options.pollMs ?? 1000
  const inputTopics = [...new Set(Object.values(processor.inputTopics))]
  const appGroup = processor.applicationId
  const sinkGroups = sinks.map((s) => `${groupPrefix}-${s}`)
  const report = (p: ReplayProgress) => options.onProgress?.(p)

  const admin = createAdmin(config.kafka, 'replay')
  try {
    // Refused before the (long) first digest: a live pipeline would change what it reads.
    await refuseLiveGroups(admin, [appGroup, ...sinkGroups], 'replay')

    let t = Date.now()
    report(phaseMark('snapshot-before', 0))
    const digestOptions = {
      sinks,
      ...(options.redisPrefix !== undefined ? { redisPrefix: options.redisPrefix } : {}),
      ...(options.graph ? { graph: options.graph } : {}),
    }
    const before = compare ? await digestSinks(config, digestOptions) : null
    const snapshotBeforeMs = Date.now() - t

    t = Date.now()
    report(phaseMark('reset', 0))
    const inputs = await topicPartitions(admin, inputTopics)
    const inputEnds = await listOffsetsWithAdmin(admin, inputs, 'latest', FetchIsolationLevels.READ_COMMITTED)
    const reset = await resetPipeline(config, {
      processor,
      sinks,
      groupPrefix,
      ...(options.redisPrefix !== undefined ? { redisPrefix: options.redisPrefix } : {}),
      ...(options.sinkId ? { sinkId: options.sinkId } : {}),
      ...(options.openTransactionWaitMs !== undefined
        ? { openTransactionWaitMs: options.openTransactionWaitMs }
        : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      action: 'replay',
    })
    const resetMs = Date.now() - t
    const inputStart = new Map(
      (reset.processor?.inputOffsets ?? []).map((o) => [partitionKey(o.topic, o.partition), o.offset]),
    )
    const events = inputs.reduce((n, p) => n + span(inputStart, inputEnds, p), 0)

    const logger = options.logger ?? createRootLogger(config.log, { destination: process.stderr })
    // The rebuild writes into the output topics as they are: the processor checks their partitions
    // against what it would create, so it is told the count they have.
    const outputPartitions =
      options.outputPartitions ?? (await existingPartitions(admin, Object.values(processor.outputTopics)))
    const rebuild = await runRebuild({
      config,
      sinkConfig,
      processor,
      sinks,
      options,
      logger,
      admin,
      inputs,
      inputStart,
      inputEnds,
      events,
      reset,
      timeoutMs,
      pollMs,
      report,
      outputPartitions,
    })

    t = Date.now()
    report(phaseMark('snapshot-after', 0))
    const after = compare ? await digestSinks(config, digestOptions) : null
    const snapshotAfterMs = Date.now() - t
    const rebuildMs = rebuild.processorMs + rebuild.sinksMs
    return {
      applicationId: appGroup,
      inputTopics,
      events,
      outputRecords: rebuild.outputRecords,
      eventsPerSecond: rebuildMs > 0 ? (events * 1000) / rebuildMs : 0,
      phases: {
        snapshotBeforeMs,
        resetMs,
        processorMs: rebuild.processorMs,
        sinksMs: rebuild.sinksMs,
        snapshotAfterMs,
      },
      reset,
      before,
      after,
      comparison: before && after ? compareDigests(before, after) : null,
    }
  } finally {
    await admin.close()
  }
}

interface RebuildContext {
  readonly config: Config
  readonly sinkConfig: Config
  readonly processor: ProcessorConfig
  readonly sinks: readonly ReplaySink[]
  readonly options: ReplayOptions
  readonly logger: Logger
  readonly admin: Admin
  readonly inputs: readonly TopicPartition[]
  readonly inputStart: ReadonlyMap<string, number>
  readonly inputEnds: ReadonlyMap<string, number>
  readonly events: number
  readonly reset: PipelineResetReport
  readonly timeoutMs: number
  readonly pollMs: number
  readonly report: (p: ReplayProgress) => void
  readonly outputPartitions: number | undefined
}

/** Starts the sinks and the processor, waits for both to catch up, stops them. */
async function runRebuild(
  c: RebuildContext,
): Promise<{ processorMs: number; sinksMs: number; outputRecords: number }> {
  const appGroup = c.processor.applicationId
  const inputTopicSet = new Set(c.inputs.map((p) => p.topic))
  const started = Date.now()
  const deadline = started + c.timeoutMs
  let running: RunningProcessor | undefined
  let sinks: RunningSinks | undefined
  const lag = new GroupLagReader(c.config.kafka, { clientIdSuffix: 'replay-lag' })
  let failure: unknown
  try {
    sinks = await startSinks(c.sinkConfig, {
      sinks: c.sinks,
      processor: c.processor,
      metricsPort: 0,
      logger: c.logger,
      ...(c.options.redisPrefix !== undefined ? { redisPrefix: c.options.redisPrefix } : {}),
      ...(c.options.sinkId ? { sinkId: c.options.sinkId } : {}),
      ...(c.options.runner ? { runner: c.options.runner } : {}),
    })
    sinks.done.catch((error: unknown) => {
      failure ??= error
    })
    running = await startProcessor(c.config, {
      processor: c.processor,
      metricsPort: 0,
      logger: c.logger,
      ...(c.outputPartitions ? { outputPartitions: c.outputPartitions } : {}),
    })
    const check = () => {
      if (failure !== undefined) throw failure
      if (running?.streams.state === 'ERROR')
        throw new Error('the processor stopped with an error during the replay (see its log)')
    }

    // Phase 1: the processor, until its group's committed offsets reach the input ends of the start
    // and nothing is left in its repartition topics, twice in a row (a downstream task that has not
    // committed yet has no offsets to read).
    let caughtUpOnce = false
    for (;;) {
      check()
      const all = await lag.read([appGroup])
      // Only the topics this topology reads: the inputs, and its own (repartition, late, dead letters).
      // An archive replay leaves the group's offsets on the input topics as they were, behind or not.
      const readout = {
        ...all,
        lags: all.lags.filter((l) => inputTopicSet.has(l.topic) || l.topic.startsWith(`${appGroup}-`)),
      }
      const committed = new Map(readout.lags.map((l) => [partitionKey(l.topic, l.partition), l.committed]))
      const done = c.inputs.reduce(
        (n, p) =>
          n +
          Math.min(
            span(c.inputStart, c.inputEnds, p),
            Math.max(
              0,
              (committed.get(partitionKey(p.topic, p.partition)) ?? 0) -
                (c.inputStart.get(partitionKey(p.topic, p.partition)) ?? 0),
            ),
          ),
        0,
      )
      c.report(progress('processor', done, c.events, 'events', Date.now() - started))
      const inputsDone = c.inputs.every(
        (p) =>
          (committed.get(partitionKey(p.topic, p.partition)) ?? 0) >=
          (c.inputEnds.get(partitionKey(p.topic, p.partition)) ?? 0),
      )
      const caughtUp =
        inputsDone &&
        readout.lags.every((l) => l.lag === 0) &&
        (await repartitionsCommitted(c.admin, appGroup, committed))
      if (caughtUp && caughtUpOnce) break
      caughtUpOnce = caughtUp
      if (Date.now() > deadline)
        throw new ReplayTimeoutError('processor', c.timeoutMs, `${done} of ${c.events} events consumed`)
      await sleep(c.pollMs)
    }
    const processorMs = Date.now() - started

    // Phase 2: the sinks, until their groups' committed offsets reach the outputs' ends of now.
    const sinksStarted = Date.now()
    const sinkGroups = c.reset.sinks.map((s) => s.groupId)
    const from = new Map(
      c.reset.sinks.flatMap((s) =>
        s.groupOffsets.map((o) => [`${s.groupId}\u0000${partitionKey(o.topic, o.partition)}`, o.offset]),
      ),
    )
    const first = await lag.read(sinkGroups)
    const targetEnds = first.ends
    const total = [...from].reduce((n, [key, offset]) => {
      const end = targetEnds.get(key.slice(key.indexOf('\u0000') + 1)) ?? offset
      return n + Math.max(0, end - offset)
    }, 0)
    for (let readout = first; ; readout = await lag.read(sinkGroups)) {
      check()
      const done = readout.lags.reduce((n, l) => {
        const key = `${l.group}\u0000${partitionKey(l.topic, l.partition)}`
        const start = from.get(key) ?? l.committed
        const end = targetEnds.get(partitionKey(l.topic, l.partition)) ?? l.end
        return n + Math.max(0, Math.min(l.committed, end) - start)
      }, 0)
      c.report(progress('sinks', done, total, 'records', Date.now() - sinksStarted))
      const behind = readout.lags.filter(
        (l) =>
          l.lag > 0 && l.committed < (targetEnds.get(partitionKey(l.topic, l.partition)) ?? Number.MAX_VALUE),
      )
      if (behind.length === 0 && readout.failed.size === 0) {
        c.report(progress('sinks', total, total, 'records', Date.now() - sinksStarted))
        return { processorMs, sinksMs: Date.now() - sinksStarted, outputRecords: total }
      }
      if (Date.now() > deadline)
        throw new ReplayTimeoutError(
          'sinks',
          c.timeoutMs,
          `${done} of ${total} output records applied; behind: ${behind
            .slice(0, 5)
            .map((l) => `${l.group} ${l.topic}-${l.partition}`)
            .join(', ')}`,
        )
      await sleep(c.pollMs)
    }
  } finally {
    await Promise.allSettled([running?.close(), sinks?.close()])
    await lag.close()
  }
}

/** Whether every partition of the application's repartition topics holding records has a committed offset. */
async function repartitionsCommitted(
  admin: Admin,
  applicationId: string,
  committed: ReadonlyMap<string, number>,
): Promise<boolean> {
  const topics = (await admin.listTopics()).filter(
    (t) => t.startsWith(`${applicationId}-`) && t.endsWith('-repartition'),
  )
  const partitions = await topicPartitions(admin, topics)
  const missing = partitions.filter((p) => !committed.has(partitionKey(p.topic, p.partition)))
  if (missing.length === 0) return true
  const ends = await listOffsetsWithAdmin(admin, missing, 'latest', FetchIsolationLevels.READ_COMMITTED)
  return missing.every((p) => (ends.get(partitionKey(p.topic, p.partition)) ?? 0) === 0)
}

export interface ArchiveReplayOptions extends ReplayOptions {
  /** The archive sink's prefix ('' or ending with '/'). Default ''. */
  readonly archivePrefix?: string
  /** The archive's bucket. Default S3_BUCKET. */
  readonly bucket?: string
  /** The replay topic of an input topic. Default `<input>.replay`. */
  readonly replayTopic?: (input: string) => string
  /** Progress of the re-publishing, records per input topic. */
  readonly onRepublish?: (progress: { topic: string; records: number }) => void
}

export interface RepublishedTopic {
  readonly input: string
  readonly replayTopic: string
  readonly partitions: number
  readonly records: number
  /**
   * Records Kafka still has in the input topic after the archive's last offset (per partition,
   * summed): the archive's open ranges, not yet uploaded; a replay from the archive does not see them.
   */
  readonly notArchived: number
}

export interface ArchiveReplayResult extends ReplayResult {
  readonly republished: readonly RepublishedTopic[]
  readonly republishMs: number
}

export async function replayFromArchive(
  config: Config,
  options: ArchiveReplayOptions = {},
): Promise<ArchiveReplayResult> {
  const processor = options.processor ?? loadProcessorConfig(config.processor.configFile)
  const replayTopic = options.replayTopic ?? ((input: string) => `${input}.replay`)
  const groupPrefix = options.groupPrefix ?? config.sinks.groupPrefix
  const sinks = [...new Set(options.sinks ?? DEFAULT_SINKS)]
  const admin = createAdmin(config.kafka, 'replay-archive')
  const started = Date.now()
  const republished: RepublishedTopic[] = []
  try {
    // Refused before the replay topics are touched.
    await refuseLiveGroups(
      admin,
      [processor.applicationId, ...sinks.map((s) => `${groupPrefix}-${s}`)],
      'replay',
    )
    options.onProgress?.(phaseMark('republish', 0))
    const reader = new ArchiveReader({
      client: createS3Client(config.s3),
      bucket: options.bucket ?? config.s3.bucket,
      prefix: options.archivePrefix ?? '',
    })
    const present = new Set(await admin.listTopics())
    const producer = createProducer(config.kafka, { clientId: 'replay-archive' })
    try {
      for (const input of new Set(Object.values(processor.inputTopics))) {
        const target = replayTopic(input)
        if (target === input) throw new RangeError(`the replay topic of ${input} must be another topic`)
        const archived = await reader.partitions(input)
        const inKafka = present.has(input) ? (await topicPartitions(admin, [input])).length : 0
        const partitions = Math.max(inKafka, (archived.at(-1) ?? -1) + 1, 1)
        await recreateTopic(admin, target, partitions, config.kafka.replicationFactor, {
          'retention.ms': '-1',
        })
        let records = 0
        const lastArchived = new Map<number, number>()
        const counted = async function* () {
          for await (const r of reader.records(input)) {
            lastArchived.set(r.partition, r.offset)
            if (++records % 10_000 === 0) options.onRepublish?.({ topic: input, records })
            yield r
          }
        }
        await republish(counted(), producer, target, { batchSize: 2000 })
        options.onRepublish?.({ topic: input, records })
        let notArchived = 0
        if (inKafka > 0) {
          const ps = Array.from({ length: inKafka }, (_, partition) => ({ topic: input, partition }))
          const ends = await listOffsetsWithAdmin(admin, ps, 'latest', FetchIsolationLevels.READ_COMMITTED)
          const starts = await listOffsetsWithAdmin(admin, ps, 'earliest')
          for (const p of ps) {
            const key = partitionKey(p.topic, p.partition)
            const from = Math.max(lastArchived.get(p.partition) ?? -1, (starts.get(key) ?? 0) - 1)
            notArchived += Math.max(0, (ends.get(key) ?? 0) - 1 - from)
          }
        }
        republished.push({ input, replayTopic: target, partitions, records, notArchived })
      }
    } finally {
      await producer.close()
    }
  } finally {
    await admin.close()
  }
  const republishMs = Date.now() - started
  const replayInputs = Object.fromEntries(
    Object.entries(processor.inputTopics).map(([f, t]) => [f, replayTopic(t)]),
  ) as Record<EventFamily, string>
  // The registry encoding names a topic's schema by its subject (`<topic>-value`): the replay topics'
  // subjects get the events' schemas, as provisioning gives the input topics theirs.
  if (config.schemas.encoding === 'registry')
    await registerEventSchemas(new RegistryClient(config.schemaRegistry), {
      topics: replayInputs,
    })
  const result = await replayPipeline(config, {
    ...options,
    processor: { ...processor, inputTopics: replayInputs },
  })
  return { ...result, republished, republishMs }
}

/** The partition count the existing topics share; undefined when one is missing or they differ. */
async function existingPartitions(admin: Admin, topics: readonly string[]): Promise<number | undefined> {
  const present = new Set(await admin.listTopics())
  if (topics.length === 0 || topics.some((t) => !present.has(t))) return undefined
  const metadata = await admin.metadata({ topics: [...topics], forceUpdate: true })
  const counts = new Set(topics.map((t) => metadata.topics.get(t)?.partitionsCount))
  const [count] = counts
  return counts.size === 1 && count !== undefined ? count : undefined
}

function span(from: ReadonlyMap<string, number>, to: ReadonlyMap<string, number>, p: TopicPartition): number {
  const key = partitionKey(p.topic, p.partition)
  return Math.max(0, (to.get(key) ?? 0) - (from.get(key) ?? 0))
}

/** A progress value with its rate and ETA. */
export function progress(
  phase: ReplayPhase,
  done: number,
  total: number,
  unit: 'events' | 'records',
  elapsedMs: number,
): ReplayProgress {
  const perSecond = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0
  const etaMs = perSecond > 0 ? (Math.max(0, total - done) / perSecond) * 1000 : total <= done ? 0 : null
  return { phase, done, total, unit, elapsedMs, perSecond, etaMs }
}

function phaseMark(phase: ReplayPhase, elapsedMs: number): ReplayProgress {
  return progress(phase, 0, 0, 'events', elapsedMs)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
