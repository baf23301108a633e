// Runs a topology on a Kafka cluster: Kafka Streams' KafkaStreams for this engine.
//
// One loop per instance, never two awaits racing over the tasks: fetch (whole responses, from positions
// the runtime keeps), hand records to the tasks, process synchronously, and every commit interval put
// the output, changelog and dead-letter records and the consumed offsets in one transaction. Group
// membership is the client's classic protocol with the project's co-partitioning assignor; before each
// join (the client's protocolsMetadata hook, called before every JoinGroup) the loop commits and
// suspends its tasks, which is the eager protocol's onPartitionsRevoked: the next owner of a task starts
// from a committed offset and a changelog that holds everything before it. Any failed commit aborts the
// transaction and rebuilds every task from its changelog and the committed offsets, so nothing done
// after the last commit survives: that is what makes a crash at any instant invisible in the output.
import { EventEmitter } from 'node:events'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Admin, type Consumer, FetchIsolationLevels, type Producer } from '@platformatic/kafka'
import {
  createAdmin,
  createConsumer,
  createProducer,
  createTransactionalProducer,
  type KafkaConfig,
  keyPartition,
} from '../../kafka/clients.js'
import { deadLetterRecord } from '../../kafka/dead-letter.js'
import {
  type FetchedPartition,
  listOffsets,
  PartitionFetcher,
  type PartitionPosition,
  partitionKey,
  partitionsByTopic,
  stableEnds,
} from '../../kafka/partition-fetcher.js'
import { ensureTopics } from '../../kafka/topics.js'
import { isTopologyError, TopologyError } from '../errors.js'
import { repartitionTopicName } from '../internals/graph/names.js'
import type { InputRecord } from '../internals/runtime/input-record.js'
import { BufferingRecordCollector, type ProducerRecord } from '../internals/runtime/record-collector.js'
import {
  type ChangelogPartition,
  StreamTask,
  type TopicPartitionOffset,
} from '../internals/runtime/stream-task.js'
import { LmdbStores, lmdbDatabaseName, lmdbDatabaseTask } from '../internals/state/lmdb-key-value-store.js'
import type { Serde } from '../serdes.js'
import type { Topology } from '../topology.js'
import { classifyCommitError, isFatal, retryUntil, wrapCommitError } from './commit-errors.js'
import {
  AtLeastOnceCommitter,
  type Committer,
  type OutgoingRecord,
  TransactionalCommitter,
} from './committer.js'
import {
  type AlignmentReport,
  decodeReport,
  EventTimeAlignment,
  encodeReport,
  eventTimeTopicName,
} from './event-time-alignment.js'
import { prepareTopics, type TopologyLayout } from './internal-topics.js'
import { lateRecordMessage } from './late-records.js'
import { type ProducerIdentity, ThreadedTransactionalCommitter } from './producer-thread.js'
import { NO_RUNTIME_METRICS, type RuntimeMetrics, type StoreSize } from './runtime-metrics.js'
import { lockStateDirectory, type StateDirectoryLock } from './state-directory.js'
import { type ResolvedStreamsConfig, resolveStreamsConfig, type StreamsConfig } from './streams-config.js'
import {
  coPartitioningAssigner,
  encodeSubscriptionInfo,
  parseTaskId,
  tasksOfAssignment,
} from './task-assignor.js'

export type StreamsState =
  | 'CREATED'
  | 'STARTING'
  | 'REBALANCING'
  | 'RUNNING'
  | 'PENDING_SHUTDOWN'
  | 'NOT_RUNNING'
  | 'ERROR'

interface TaskEntry {
  readonly id: string
  readonly task: StreamTask
  /** Next offset to fetch, per source partition (ahead of what the task processed). */
  readonly fetchPositions: Map<string, PartitionPosition>
  /** Source partitions read by this task. */
  readonly sources: { topic: string; partition: number }[]
  /** Those of the user's topics (not repartition topics): what event-time alignment looks at. */
  readonly inputs: { topic: string; partition: number }[]
  /** Last committed offset per source partition, to commit only what moved. */
  readonly committed: Map<string, number>
  /** Every store restored: only such a task may be kept across a rebalance. */
  restored: boolean
  /** Per source partition: records fetched but not processed at the end of the previous round (backpressure). */
  readonly residual: Map<string, number>
  /** Per source partition: the end a reader can reach (last stable offset, or high watermark), as last fetched. */
  readonly ends: Map<string, number>
  /** Per source partition: when a fetch last brought records (wall clock), for event-time alignment. */
  readonly lastRecordsAt: Map<string, number>
}

/** Event-time alignment across instances (eventTimeAlignment), with its topic, reader and writer. */
interface Alignment {
  readonly state: EventTimeAlignment
  readonly topic: string
  readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>
  position: PartitionPosition
  /** The report waiting to be sent while one is in flight. */
  next: AlignmentReport | undefined
  sending: boolean
  /** The last report could not be sent (warned once until one is). */
  failing: boolean
  /** The bound of the current round. */
  bound: number
  /**
   * The earliest event time of the input records the commit in flight covers (+Infinity: none): their
   * results are not visible downstream (read_committed) until it completes.
   */
  committing: number
}

interface PendingFetch {
  readonly owner: ReadonlyMap<string, TaskEntry>
  readonly promise: Promise<FetchedPartition[]>
  /** When the response arrived (performance.now()). */
  fetchedAt: number
}

/** The event time the records bound for one repartition partition span since the last prepared commit. */
interface WrittenSpan {
  readonly topic: string
  low: number
  high: number
}

/** A commit that wrote to a repartition partition this instance reads, its marker not fetched yet. */
interface UnreadCommit {
  readonly seq: number
  /** The earliest timestamp the commit wrote to the partition. */
  readonly low: number
  /** When the commit completed (performance.now()); undefined while it is in flight. */
  completedAt: number | undefined
  /**
   * Whether it holds processing (it spans more event time on its topic than the tolerance); one that
   * does not is still listed, so that each commit marker fetched matches the commit that wrote it.
   */
  readonly holds: boolean
}

interface PreparedCommit {
  /** The group generation the running tasks were assigned in. */
  readonly generationId: number
  /** Numbers the commits whose records the repartition readers here wait for (see #unreadCommits). */
  readonly seq: number
  /** Records handed off to the transaction before this commit. */
  readonly handedOff: number
  readonly running: readonly TaskEntry[]
  readonly offsets: readonly TopicPartitionOffset[]
  readonly records: OutgoingRecord[]
  readonly consumedByTopic: ReadonlyMap<string, number>
}

/** Which tasks this instance runs, for health checks and tests. */
export interface StreamsStatus {
  readonly state: StreamsState
  readonly instanceId: string | undefined
  /** Every task this instance holds, suspended ones (during a rebalance) included. */
  readonly tasks: readonly string[]
  /** The tasks processing now. */
  readonly activeTasks: readonly string[]
  readonly restoring: boolean
  readonly generationId: number
  /**
   * With eventTimeAlignment: the latest event time this instance may process now (+Infinity: no bound,
   * -Infinity: holding until every instance has reported); null without it.
   */
  readonly eventTimeBound: number | null
}

const PROTOCOL = { name: 'agent-party-streams', version: 1 }
/** Records a task processes before the runtime looks again for the task with the earliest record. */
const EVENT_TIME_SLICE = 256
/** How far (event time) a task's turn may run past the head of the task with the next earliest record. */
const EVENT_TIME_SLACK_MS = 1000
/**
 * How long after a commit its marker may stay unfetched on a repartition partition before the runtime
 * stops holding processing for it (a safeguard: the coordinator writes markers within moments).
 */
const UNREAD_COMMIT_GIVE_UP_MS = 30_000
/** Event-time alignment: a caught-up partition without records for this long holds no other instance. */
const IDLE_PARTITION_MS = 2000
/** How long a restore waits before fetching again a batch whose value serde could not be prepared. */
const RESTORE_RETRY_MS = 1000
/** How often the stores' sizes and the producer thread's heap are sampled for the metrics. */
const MEMORY_SAMPLE_MS = 5000
/**
 * How long fetches may fail in a row before the instance reports itself not ready: a leader move or a
 * broker restart passes within it; a source topic deleted under the application does not.
 */
const FETCH_FAILING_UNREADY_MS = 10_000

export class KafkaStreams extends EventEmitter {
  readonly #topology: Topology
  readonly #config: ResolvedStreamsConfig
  readonly #metrics: RuntimeMetrics
  #state: StreamsState = 'CREATED'
  #lock: StateDirectoryLock | undefined
  /** The LMDB environment the tasks' key-value stores share (stateStore 'lmdb'). */
  #lmdb: LmdbStores | undefined
  #consumer: Consumer | undefined
  #admin: Admin | undefined
  #producer: Producer<Buffer, Buffer, Buffer, Buffer> | undefined
  #committer: Committer | undefined
  #fetcher: PartitionFetcher | undefined
  #layout: TopologyLayout | undefined
  readonly #tasks = new Map<string, TaskEntry>()
  readonly #collector = new BufferingRecordCollector()
  #loop: Promise<void> | undefined
  #stopping = false
  #restoring = false
  /** Set by the pre-join hook: the loop commits, suspends its tasks and resolves it. */
  #revocation: { resolve: () => void; promise: Promise<void> } | undefined
  /** A committer call is in flight (see #beforeJoin). */
  #committing = false
  #fencedInARow = 0
  /** A commit failed inside the pre-join hook: renew the producer once the join is done. */
  #producerNeedsRenewal = false
  /** close() passed its deadline: no new commit may start. */
  #abandoned = false
  /** Set by the join event: the tasks the new generation gives this instance. */
  #pendingAssignment: { generationId: number; tasks: string[]; rebuild?: boolean } | undefined
  #generationId = -1
  #lastCommit = 0
  #lastPurge = 0
  #nextMemorySample = 0
  /** Since when fetches have failed in a row, and the last error's message; undefined after a success. */
  #fetchFailing: { since: number; message: string } | undefined
  #rebalanceStartedAt = 0
  #fatal: unknown
  /** Source topics whose key or value serde has a prepare step. */
  readonly #preparing = new Map<
    string,
    { key: Serde<unknown> | undefined; value: Serde<unknown> | undefined }
  >()
  /** Consumer protocol: the stream that holds the membership, and whether the assignment may have moved. */
  #idleStream: { close(): Promise<void> } | undefined
  /** The client replaces its `assignments` array on every change: the loop compares it by identity. */
  #followedAssignments: unknown = null
  #assignmentSignature = ''
  #prefetch: PendingFetch | undefined
  #commitInFlight: Promise<void> | undefined
  #commitError: unknown
  /** Rounds processed since the last commit, for the optional handedToTransaction metric. */
  readonly #handoff: { fetchedAt: number; records: number }[] = []
  /** Records handed off to the transaction since the last commit. */
  #handedOff = 0
  /** Per repartition partition (partitionKey): the event time written to it since the last prepared commit. */
  #written = new Map<string, WrittenSpan>()
  #repartitionTopics: ReadonlySet<string> = new Set()
  #commitSeq = 0
  /**
   * Per repartition partition this instance reads: the commits that wrote to it whose commit marker
   * its reader has not fetched yet, oldest first (see #unreadBound).
   */
  readonly #unreadCommits = new Map<string, UnreadCommit[]>()
  #alignment: Alignment | undefined

  constructor(topology: Topology, config: StreamsConfig) {
    super()
    this.#topology = topology
    this.#config = resolveStreamsConfig(config)
    this.#metrics = this.#config.metrics ?? NO_RUNTIME_METRICS
    for (const node of topology.graph.nodes.values()) {
      if (node.kind !== 'source') continue
      if (node.keySerde.prepare === undefined && node.valueSerde.prepare === undefined) continue
      for (const topic of node.topics) {
        const full = node.internal ? repartitionTopicName(this.#config.applicationId, topic) : topic
        this.#preparing.set(full, {
          key: node.keySerde.prepare === undefined ? undefined : node.keySerde,
          value: node.valueSerde.prepare === undefined ? undefined : node.valueSerde,
        })
      }
    }
  }

  get state(): StreamsState {
    return this.#state
  }

  get applicationId(): string {
    return this.#config.applicationId
  }

  status(): StreamsStatus {
    return {
      state: this.#state,
      instanceId: this.#lock?.instanceId,
      tasks: [...this.#tasks.keys()],
      activeTasks: [...this.#tasks.values()].filter((e) => e.task.state === 'RUNNING').map((e) => e.id),
      restoring: this.#restoring,
      generationId: this.#generationId,
      eventTimeBound: this.#alignment === undefined ? null : this.#alignment.bound,
    }
  }

  /**
   * Each store's entries and an estimate of the memory it holds, summed over this instance's tasks, by
   * store name: typed arrays and byte arenas exactly, Map entries and keys estimated from a sample.
   */
  storeSizes(): StoreSize[] {
    const sizes = new Map<string, StoreSize>()
    for (const entry of this.#tasks.values()) {
      for (const s of entry.task.storeSizes()) {
        const sum = sizes.get(s.store)
        sizes.set(s.store, {
          store: s.store,
          entries: (sum?.entries ?? 0) + s.entries,
          bytes: (sum?.bytes ?? 0) + s.bytes,
        })
      }
    }
    return [...sizes.values()]
  }

  /** True once the instance runs its tasks with every store restored (the `/ready` probe). */
  get ready(): boolean {
    return this.readiness().ready
  }

  /** Readiness with the reasons when not ready, in the form the probe server (config/probe-server.ts) takes. */
  readiness(): { ready: boolean; reasons: string[] } {
    const reasons: string[] = []
    if (this.#state !== 'RUNNING') reasons.push(`streams state is ${this.#state}`)
    if (this.#restoring) reasons.push('restoring state stores from their changelogs')
    const failing = this.#fetchFailing
    const failingMs = failing === undefined ? 0 : Date.now() - failing.since
    if (failing !== undefined && failingMs >= FETCH_FAILING_UNREADY_MS) {
      reasons.push(`fetching the input has failed for ${Math.round(failingMs / 1000)} s: ${failing.message}`)
    }
    return { ready: reasons.length === 0, reasons }
  }

  /**
   * Locks the state directory, checks the source topics and co-partitioning, creates the internal topics,
   * joins the group and starts the processing loop. Resolves once the instance is a group member; the
   * `state` event tells when it runs.
   */
  async start(): Promise<void> {
    if (this.#state !== 'CREATED') {
      throw new TopologyError('ILLEGAL_STATE_TRANSITION', `start() called in state ${this.#state}`)
    }
    this.#setState('STARTING')
    const config = this.#config
    try {
      this.#lock = lockStateDirectory(config.stateDir, config.applicationId, config.instanceId)
      this.#openLmdb(join(this.#lock.directory, 'lmdb'))
      // The producer thread loads its modules while the topics are prepared (closed by stop() or a
      // failed start, as the committer).
      const early =
        config.processingGuarantee === 'exactly_once' && config.producerThread
          ? this.#newTransactionalCommitter()
          : undefined
      this.#committer = early
      const kafka = this.#kafka()
      this.#admin = createAdmin(kafka, `${config.clientId}-admin`)
      this.#layout = await prepareTopics(
        this.#admin,
        this.#topology.graph,
        config.applicationId,
        config.replicationFactor,
        [config.deadLetterTopic, config.lateRecordTopic],
      )
      this.#repartitionTopics = new Set(this.#layout.repartitionTopics)
      const instanceId = this.#lock.instanceId
      const exactlyOnce = config.processingGuarantee === 'exactly_once'
      const isolationLevel = exactlyOnce
        ? FetchIsolationLevels.READ_COMMITTED
        : FetchIsolationLevels.READ_UNCOMMITTED
      const layout = this.#layout
      const consumerProtocol = config.groupProtocol === 'consumer'
      this.#consumer = createConsumer(kafka, config.applicationId, {
        clientId: `${config.clientId}-${instanceId}-consumer`,
        groupInstanceId: instanceId,
        // (The consumer protocol's session is the broker's; the client validates these all the same.)
        sessionTimeout: config.sessionTimeoutMs,
        heartbeatInterval: config.heartbeatIntervalMs,
        rebalanceTimeout: config.rebalanceTimeoutMs,
        isolationLevel,
        autocommit: false,
        ...(consumerProtocol
          ? // The broker's range assignor gives partition n of equally sized topics to one member.
            { groupProtocol: 'consumer', groupRemoteAssignor: 'range' }
          : {
              protocols: [PROTOCOL],
              partitionAssigner: coPartitioningAssigner(layout.subtopologies),
              protocolsMetadata: () => this.#beforeJoin(),
            }),
      } as never)
      // The client emits 'error' when a rejoin fails for good; unheard, that would end the process.
      this.#consumer.on('error', (error: unknown) => this.#fail(error))
      this.#fetcher = new PartitionFetcher(this.#consumer, {
        isolation: exactlyOnce ? 'read_committed' : 'read_uncommitted',
        maxWaitMs: 100,
        // Internal topics always from the earliest: their records are the application's own.
        offsetReset: (topic) =>
          layout.repartitionTopics.includes(topic) || topic === eventTimeTopicName(config.applicationId)
            ? 'earliest'
            : config.autoOffsetReset,
      })
      if (config.eventTimeAlignment !== undefined) await this.#startAlignment(instanceId)
      if (exactlyOnce) {
        await this.#startTransactionalProducer('producer ready', early)
      } else {
        this.#producer = createProducer<Buffer, Buffer, Buffer, Buffer>(kafka, {
          clientId: `${config.clientId}-${instanceId}-producer`,
        })
        this.#committer = new AtLeastOnceCommitter(
          this.#producer,
          this.#consumer,
          config.onBeforeOffsetCommit,
        )
      }
      this.#consumer.on('consumer:group:join', (payload) => {
        this.#pendingAssignment = {
          generationId: payload.generationId ?? -1,
          tasks: tasksOfAssignment(payload.assignments ?? [], layout.subtopologies),
        }
      })
      this.#setState('REBALANCING')
      this.#rebalanceStartedAt = Date.now()
      if (consumerProtocol) {
        // The client joins a consumer-protocol group only through consume(): the stream is never read
        // (an unread stream does not fetch); the loop follows consumer.assignments instead.
        this.#idleStream = await this.#consumer.consume({
          topics: layout.subtopologies.flatMap((s) => s.topics),
          autocommit: false,
        })
      } else {
        for (const sub of layout.subtopologies)
          for (const topic of sub.topics) this.#consumer.topics.track(topic)
        await this.#consumer.joinGroup({})
      }
    } catch (error) {
      await this.#shutdownClients()
      this.#setState('ERROR')
      throw error
    }
    this.#loop = this.#run().catch((error) => this.#fail(error))
  }

  /**
   * Commits, leaves the group (a static member is removed explicitly, so its partitions move at once)
   * and closes. Bounded by `timeoutMs`: past it the clients are closed anyway; what was not committed is
   * redone by the next owner.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#state === 'NOT_RUNNING' || this.#state === 'PENDING_SHUTDOWN') return
    const wasRunning = this.#loop !== undefined
    this.#setState('PENDING_SHUTDOWN')
    this.#stopping = true
    const timeout = options.timeoutMs ?? 30_000
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeout)
    })
    // A client waiting in the pre-join hook must not wait for a loop that is ending.
    this.#settleRevocation()
    try {
      if (wasRunning) await Promise.race([this.#loop, deadline])
      if (this.#fatal === undefined && wasRunning) {
        let committed = false
        await Promise.race([
          this.#commitAll('shutdown').then(
            () => {
              committed = true
            },
            () => {},
          ),
          deadline,
        ])
        // The stores' LMDB files now hold exactly what the commit covers: kept for the next start.
        if (committed && this.#lmdb !== undefined)
          await Promise.race([
            this.#checkpointStores(this.#lmdb).catch((error: unknown) => {
              this.#config.logger?.warn({ err: error }, "writing the state stores' checkpoint failed")
            }),
            deadline,
          ])
      }
      // Past the deadline a commit still running must not start another: records without offsets.
      this.#abandoned = true
      await Promise.race([this.#settleFetch(), deadline])
      for (const entry of this.#tasks.values()) this.#closeTask(entry)
      this.#tasks.clear()
      this.#dropUncommitted()
      await Promise.race([this.#leaveGroup(), deadline])
    } finally {
      clearTimeout(timer)
      await this.#shutdownClients()
      this.#setState(this.#fatal === undefined ? 'NOT_RUNNING' : 'ERROR')
    }
  }

  #setState(state: StreamsState): void {
    if (this.#state === state) return
    const previous = this.#state
    this.#state = state
    this.#config.logger?.info({ state, previous }, 'streams state')
    this.emit('state', state, previous)
  }

  async #leaveGroup(): Promise<void> {
    const consumer = this.#consumer
    if (consumer === undefined || consumer.memberId === null) return
    // Under the consumer protocol closing the consumer leaves the group (epoch -1) at once.
    if (this.#config.groupProtocol === 'consumer') return
    // A static member's LeaveGroup does not remove it (KIP-345): remove it by instance id.
    await new Promise<void>((resolve) => consumer.leaveGroup(true, () => resolve()))
    await this.#admin
      ?.removeMembersFromConsumerGroup({
        groupId: this.#config.applicationId,
        members: [{ groupInstanceId: this.#lock?.instanceId ?? '' }],
      } as never)
      .catch(() => {})
  }

  // Event-time alignment (see event-time-alignment.ts): its topic, and a plain producer for the reports
  // (outside the transactions: a report is about now, not about what a commit covers).
  async #startAlignment(instanceId: string): Promise<void> {
    const config = this.#config
    const settings = config.eventTimeAlignment as NonNullable<ResolvedStreamsConfig['eventTimeAlignment']>
    const layout = this.#layout as TopologyLayout
    const topic = eventTimeTopicName(config.applicationId)
    await ensureTopics(
      this.#admin as Admin,
      [
        {
          name: topic,
          partitions: 1,
          configs: { 'cleanup.policy': 'delete', 'retention.ms': '600000', 'segment.ms': '60000' },
        },
      ],
      config.replicationFactor,
    )
    const inputs = new Set(
      layout.subtopologies.flatMap((s) => s.topics).filter((t) => !layout.repartitionTopics.includes(t)),
    )
    let totalPartitions = 0
    for (const t of inputs) totalPartitions += layout.partitions.get(t) ?? 0
    this.#alignment = {
      state: new EventTimeAlignment({
        instanceId,
        maxDriftMs: settings.maxDriftMs,
        intervalMs: settings.intervalMs,
        totalPartitions,
        coverageTimeoutMs: config.sessionTimeoutMs,
        logger: config.logger,
      }),
      topic,
      producer: createProducer<Buffer, Buffer, Buffer, Buffer>(this.#kafka(), {
        clientId: `${config.clientId}-${instanceId}-event-time`,
      }),
      position: { topic, partition: 0, offset: 0 },
      next: undefined,
      sending: false,
      failing: false,
      bound: Number.NEGATIVE_INFINITY,
      committing: Number.POSITIVE_INFINITY,
    }
  }

  /** This instance's low now, reported when due; returns the bound the group's reports give. */
  #alignToGroup(alignment: Alignment): number {
    const now = Date.now()
    let partitions = 0
    let low = Number.POSITIVE_INFINITY
    // What this instance processed but has not made visible yet (see EventTimeAlignment.update).
    let visibleLow = alignment.committing
    for (const entry of this.#tasks.values()) {
      for (const s of entry.inputs) {
        partitions++
        if (low === Number.NEGATIVE_INFINITY) continue
        low = Math.min(low, this.#partitionLow(entry, s.topic, s.partition, now))
        if (entry.task.state === 'RUNNING')
          visibleLow = Math.min(visibleLow, entry.task.lowestProcessedOf(s.topic, s.partition, false))
      }
    }
    alignment.state.update(this.#generationId, partitions, low, visibleLow, now)
    const report = alignment.state.due(now)
    if (report !== undefined) this.#report(alignment, report)
    return alignment.state.bound(now)
  }

  // The earliest event time this partition has yet to give: its buffer's head; with nothing buffered
  // but records left to read, the latest it gave (what comes next is no earlier, but for records out of
  // order); caught up, the same while records came in the last IDLE_PARTITION_MS (more may come any
  // moment: reporting nothing then let another instance run ahead of the next batch), then nothing
  // (+Infinity: an idle partition holds no one); unknown (-Infinity) before its first read, or while its
  // task restores.
  #partitionLow(entry: TaskEntry, topic: string, partition: number, now: number): number {
    if (entry.task.state !== 'RUNNING') return Number.NEGATIVE_INFINITY
    const key = partitionKey(topic, partition)
    const end = entry.ends.get(key)
    if (end === undefined) return Number.NEGATIVE_INFINITY
    const head = entry.task.headTimestampOf(topic, partition)
    if (head !== Number.POSITIVE_INFINITY) return head
    const position = entry.fetchPositions.get(key)?.offset ?? end
    const time = entry.task.partitionTimeOf(topic, partition)
    if (position >= end) {
      const idle = now - (entry.lastRecordsAt.get(key) ?? Number.NEGATIVE_INFINITY) >= IDLE_PARTITION_MS
      return idle || time < 0 ? Number.POSITIVE_INFINITY : time
    }
    return time < 0 ? Number.NEGATIVE_INFINITY : time
  }

  /** Sends a report without waiting for it; one in flight at a time, the latest one next. */
  #report(alignment: Alignment, report: AlignmentReport): void {
    alignment.next = report
    if (alignment.sending) return
    alignment.sending = true
    const drain = async () => {
      for (let next = alignment.next; next !== undefined; next = alignment.next) {
        alignment.next = undefined
        await alignment.producer
          .send({
            messages: [
              {
                topic: alignment.topic,
                partition: 0,
                key: Buffer.from(next.instanceId),
                value: encodeReport(next),
              },
            ],
          })
          .then(
            () => {
              alignment.failing = false
            },
            (error: unknown) => {
              // Once per outage: reports go every 50 ms while the low moves.
              if (!alignment.failing)
                this.#config.logger?.warn({ err: error }, 'event-time alignment: reports cannot be sent')
              alignment.failing = true
            },
          )
      }
      alignment.sending = false
    }
    void drain()
  }

  async #shutdownClients(): Promise<void> {
    await this.#committer?.close().catch(() => {})
    await this.#alignment?.producer.close().catch(() => {})
    await this.#idleStream?.close().catch(() => {})
    await this.#consumer?.close(true).catch(() => {})
    await this.#admin?.close().catch(() => {})
    this.#lmdb?.close()
    this.#lock?.release()
  }

  #fail(error: unknown): void {
    if (this.#fatal !== undefined) return
    this.#fatal = error
    this.#config.logger?.error({ err: error }, 'streams failed')
    this.#stopping = true
    this.#settleRevocation()
    this.#setState('ERROR')
    // Without a listener, an 'error' event throws: the state and the logger already tell.
    if (this.listenerCount('error') > 0) this.emit('error', error)
  }

  /** Lets a pre-join hook that waits return (close, failure). */
  #settleRevocation(): void {
    const revocation = this.#revocation
    this.#revocation = undefined
    revocation?.resolve()
  }

  /** Records produced since the last commit, dropped with the tasks that made them. */
  #dropUncommitted(): void {
    // Those already handed off are aborted with their transaction.
    this.#committer?.discard()
    this.#handedOff = 0
    this.#collector.drain()
    this.#collector.drainDeadLetters()
    this.#collector.drainLateRecords()
    this.#handoff.length = 0
    // Aborted (or about to be): no commit marker comes for them.
    this.#written.clear()
    this.#unreadCommits.clear()
  }

  // ---- group membership --------------------------------------------------------------------------

  // Called by the client before every JoinGroup: stop, commit, suspend; then say what we ran.
  //
  // The client stops heartbeating before it calls this, so it must return well within the session
  // timeout: past half of it the member joins anyway, and the revocation goes on in the loop (a task it
  // committed late is not kept unless the next generation follows directly, see #applyAssignment). An
  // at-least-once offset commit in flight rejoins by itself (the client retries it after a rebalance):
  // waiting for it here would wait for ourselves, so the hook returns at once then.
  async #beforeJoin(): Promise<Buffer> {
    if (this.#loop !== undefined && !this.#stopping && this.#tasks.size > 0 && !this.#committing) {
      if (this.#revocation === undefined) {
        let resolve!: () => void
        const promise = new Promise<void>((res) => {
          resolve = res
        })
        this.#revocation = { resolve, promise }
      }
      await Promise.race([this.#revocation.promise, sleep(this.#config.sessionTimeoutMs / 2)])
    }
    const tasks = [...this.#tasks.keys()]
    // Tasks whose stores a checkpoint holds here: the assignor gives them back to this instance first.
    const warm = new Set(this.#lmdb?.checkpointedDatabases().map(lmdbDatabaseTask))
    for (const id of tasks) warm.delete(id)
    return encodeSubscriptionInfo({ instanceId: this.#lock?.instanceId ?? '', tasks, warmTasks: [...warm] })
  }

  async #handleRevocation(): Promise<void> {
    const revocation = this.#revocation
    if (revocation === undefined) return
    this.#rebalanceStartedAt = Date.now()
    this.#setState('REBALANCING')
    try {
      await this.#settleFetch()
      await this.#commitAll('rebalance')
      for (const entry of this.#tasks.values()) {
        if (entry.task.state === 'RUNNING' || entry.task.state === 'RESTORING') entry.task.suspend()
      }
    } catch (error) {
      // The commit failed (the group moved on): nothing after the last commit may survive. The
      // producer is renewed after the join, not here: the client waits for this hook.
      if (isFatal(error)) throw error
      this.#closeAllDirty(error, false)
      this.#producerNeedsRenewal = true
    } finally {
      if (this.#revocation === revocation) this.#revocation = undefined
      revocation.resolve()
    }
  }

  async #applyAssignment(): Promise<void> {
    const assignment = this.#pendingAssignment
    if (assignment === undefined) return
    this.#pendingAssignment = undefined
    this.#fetchFailing = undefined // the fetches of the new assignment will tell
    await this.#settleFetch()
    // A task kept across a rebalance must not have had another owner meanwhile: in the classic
    // protocol that holds when this generation directly follows the one it ran in.
    // Under the consumer protocol a task still assigned was never revoked: it keeps running.
    const incremental = this.#config.groupProtocol === 'consumer' && assignment.rebuild !== true
    const contiguous =
      incremental || (assignment.rebuild !== true && assignment.generationId === this.#generationId + 1)
    // A task still RUNNING here under the classic protocol was not suspended by a revocation (the
    // pre-join hook returned at once while a commit was in flight): it is closed below, and what it
    // produced since the last commit (handed off or not) must not ride along in the next commit of
    // other tasks without its offsets. (Under the consumer protocol, at-least-once, the work was
    // committed when the assignment moved, and tasks still assigned go on.)
    if (!incremental && [...this.#tasks.values()].some((e) => e.task.state === 'RUNNING')) {
      await this.#settleCommit().catch(() => {
        this.#producerNeedsRenewal = true
      })
      this.#dropUncommitted()
    }
    if (assignment.rebuild !== true) this.#generationId = assignment.generationId
    const wanted = new Set(assignment.tasks)
    for (const [id, entry] of this.#tasks) {
      const kept = entry.task.state === 'SUSPENDED' || (incremental && entry.task.state === 'RUNNING')
      const keep = wanted.has(id) && contiguous && entry.restored && kept
      if (!keep) {
        this.#closeTask(entry)
        this.#tasks.delete(id)
      }
    }
    const created: TaskEntry[] = []
    for (const id of assignment.tasks) {
      const existing = this.#tasks.get(id)
      if (existing !== undefined) {
        if (existing.task.state === 'SUSPENDED') {
          existing.task.resume()
          existing.task.completeRestoration()
        }
        continue
      }
      const entry = this.#createTask(id)
      this.#tasks.set(id, entry)
      created.push(entry)
    }
    this.#metrics.tasks(this.#tasks.size)
    // Markers are awaited only where a task here reads them.
    for (const key of [...this.#unreadCommits.keys()]) {
      if (![...this.#tasks.values()].some((e) => e.fetchPositions.has(key))) this.#unreadCommits.delete(key)
    }
    if (created.length > 0) await this.#initializeTasks(created)
    this.#lastCommit = Date.now()
    this.#metrics.rebalance(Date.now() - this.#rebalanceStartedAt)
    this.#config.logger?.info(
      { generationId: this.#generationId, tasks: [...this.#tasks.keys()], created: created.map((e) => e.id) },
      'assignment applied',
    )
    if (this.#revocation === undefined && this.#pendingAssignment === undefined) this.#setState('RUNNING')
  }

  #createTask(id: string): TaskEntry {
    const { subtopology, partition } = parseTaskId(id)
    const config = this.#config
    const task = new StreamTask({
      graph: this.#topology.graph,
      subtopology,
      partition,
      applicationId: config.applicationId,
      collector: this.#collector,
      cacheMaxBytes: config.cacheMaxBytes,
      maxTaskIdleMs: config.maxTaskIdleMs,
      ...(this.#lmdb === undefined ? {} : { lmdb: this.#lmdb }),
      lmdbWindows: config.windowStateStore === 'lmdb',
      ...(config.engineMetrics === undefined ? {} : { metrics: config.engineMetrics }),
      ...(config.deserializationExceptionHandler === undefined
        ? {}
        : { deserializationExceptionHandler: config.deserializationExceptionHandler }),
      ...(config.processingExceptionHandler === undefined
        ? {}
        : { processingExceptionHandler: config.processingExceptionHandler }),
    })
    const layout = this.#layout as TopologyLayout
    const sources = task
      .sourceTopics()
      .filter((topic) => partition < (layout.partitions.get(topic) ?? 0))
      .map((topic) => ({ topic, partition }))
    const inputs = sources.filter((s) => !layout.repartitionTopics.includes(s.topic))
    return {
      id,
      task,
      fetchPositions: new Map(),
      sources,
      inputs,
      committed: new Map(),
      restored: false,
      residual: new Map(),
      ends: new Map(),
      lastRecordsAt: new Map(),
    }
  }

  // Restore every store of the new tasks from its changelog, then position their sources at the
  // committed offsets (or the reset policy's).
  async #initializeTasks(entries: TaskEntry[]): Promise<void> {
    const consumer = this.#consumer as Consumer
    const fetcher = this.#fetcher as PartitionFetcher
    this.#restoring = true
    try {
      // Committed offsets first, and stable (KIP-447): they wait for any transaction still open on
      // these partitions, so the changelogs read next already hold everything those offsets cover.
      const committed = await this.#stableCommittedOffsets(entries.flatMap((e) => e.sources))
      const changelogs: (ChangelogPartition & { entry: TaskEntry })[] = []
      for (const entry of entries) {
        for (const c of entry.task.initializeStores()) changelogs.push({ entry, ...c })
      }
      if (changelogs.length > 0) {
        const isolation =
          this.#config.processingGuarantee === 'exactly_once'
            ? FetchIsolationLevels.READ_COMMITTED
            : FetchIsolationLevels.READ_UNCOMMITTED
        const starts = await listOffsets(consumer, changelogs, 'earliest', isolation)
        const ends = await this.#restoreEnds(changelogs, isolation)
        const skipped = await this.#checkpointedStarts(changelogs, starts, ends)
        if (this.#config.logger?.isLevelEnabled('debug') === true) {
          this.#config.logger.debug(
            {
              committed: Object.fromEntries(committed),
              starts: Object.fromEntries(starts),
              ends: Object.fromEntries(ends),
            },
            'restoring',
          )
        }
        if (skipped.stores > 0) {
          this.#config.logger?.info(
            skipped,
            `restoring ${skipped.stores} store(s) from their LMDB checkpoint: ${skipped.records} changelog ` +
              'record(s) skipped',
          )
        }
        const started = Date.now()
        const pending = new Map<
          string,
          { entry: TaskEntry; store: string; position: PartitionPosition; end: number; count: number }
        >()
        for (const c of changelogs) {
          const key = partitionKey(c.topic, c.partition)
          const start = starts.get(key) ?? 0
          const end = ends.get(key) ?? 0
          if (end > start) {
            pending.set(key, {
              entry: c.entry,
              store: c.store,
              position: { topic: c.topic, partition: c.partition, offset: start },
              end,
              count: 0,
            })
          }
        }
        while (pending.size > 0) {
          // A rebalance or a shutdown while restoring: leave these tasks unrestored (never kept).
          if (this.#stopping || this.#revocation !== undefined) return
          const fetched = await fetcher.fetch([...pending.values()].map((p) => p.position))
          let unprepared = false
          for (const batch of fetched) {
            const key = partitionKey(batch.topic, batch.partition)
            const p = pending.get(key)
            if (p === undefined) continue
            const records = batch.records.filter((r) => r.offset < p.end)
            // A registry serde's writer schemas; when they cannot be had now, the batch is fetched again.
            const preparing = p.entry.task.prepareRestore(p.store, records)
            if (preparing !== undefined) {
              const failed = await preparing.then(
                () => undefined,
                (error: unknown) => error,
              )
              if (failed !== undefined) {
                this.#config.logger?.warn(
                  { err: failed, store: p.store, topic: batch.topic, partition: batch.partition },
                  'restore: preparing the value serde failed; fetching the batch again',
                )
                unprepared = true
                continue
              }
            }
            p.count += p.entry.task.restore(p.store, records)
            p.position = { topic: batch.topic, partition: batch.partition, offset: batch.nextOffset }
            if (batch.nextOffset >= p.end) {
              pending.delete(key)
              this.#metrics.restored(p.store, p.count, Date.now() - started)
              this.#config.logger?.debug(
                {
                  store: p.store,
                  topic: batch.topic,
                  partition: batch.partition,
                  count: p.count,
                  end: p.end,
                },
                'restored',
              )
            }
          }
          if (unprepared) await sleep(RESTORE_RETRY_MS)
        }
      }
      // A checkpointed database no changelog claimed (its store is no longer logged) starts empty.
      this.#lmdb?.discardUnclaimed()
      await this.#positionSources(entries, committed)
      for (const entry of entries) {
        entry.task.completeRestoration()
        entry.restored = true
      }
    } finally {
      this.#restoring = false
    }
  }

  // Where each persistent store's restore starts when the LMDB checkpoint covers it: `starts` is
  // moved up to the checkpoint's offset.
  async #checkpointedStarts(
    changelogs: readonly (ChangelogPartition & { entry: TaskEntry })[],
    starts: Map<string, number>,
    ends: Map<string, number>,
  ): Promise<{ stores: number; records: number }> {
    const lmdb = this.#lmdb
    const skipped = { stores: 0, records: 0 }
    if (lmdb === undefined) return skipped
    const persistent = changelogs.filter((c) => c.persistent)
    const topicIds = persistent.length === 0 ? new Map<string, string>() : await this.#topicIds(persistent)
    for (const c of persistent) {
      const key = partitionKey(c.topic, c.partition)
      const start = starts.get(key) ?? 0
      const from = lmdb.restoreFrom(lmdbDatabaseName(c.entry.id, c.store), {
        topic: c.topic,
        topicId: topicIds.get(c.topic),
        partition: c.partition,
        start,
        end: ends.get(key) ?? 0,
      })
      if (from === undefined) continue
      starts.set(key, from)
      skipped.stores++
      skipped.records += from - start
    }
    return skipped
  }

  // After the last commit of a clean close: the offsets the LMDB stores' contents cover (the changelogs'
  // last stable offsets: at most what this commit wrote, so a restore from there at worst applies the
  // last transaction's records again, which leaves the same contents) and a checkpoint of them.
  async #checkpointStores(lmdb: LmdbStores): Promise<void> {
    const stores: { database: string; topic: string; partition: number }[] = []
    for (const entry of this.#tasks.values()) {
      const state = entry.task.state
      if (!entry.restored || (state !== 'RUNNING' && state !== 'SUSPENDED')) continue
      for (const c of entry.task.changelogPartitions()) {
        if (c.persistent) stores.push({ database: lmdbDatabaseName(entry.id, c.store), ...c })
      }
    }
    if (stores.length === 0) return
    const { stable } = await stableEnds(this.#admin as Admin, stores, { waitMs: 2000 })
    const topicIds = await this.#topicIds(stores)
    const entries = stores.flatMap((s) => {
      const offset = stable.get(partitionKey(s.topic, s.partition))
      const topicId = topicIds.get(s.topic)
      if (offset === undefined || topicId === undefined) return []
      return [{ database: s.database, topic: s.topic, topicId, partition: s.partition, offset }]
    })
    if (await lmdb.checkpoint(entries)) {
      this.#config.logger?.info(
        { stores: entries.length, directory: lmdb.directory },
        'state stores checkpointed: the next start restores only what their changelogs hold past it',
      )
    }
  }

  async #topicIds(partitions: readonly { topic: string }[]): Promise<Map<string, string>> {
    const topics = [...new Set(partitions.map((p) => p.topic))]
    const metadata = await (this.#admin as Admin).metadata({ topics, forceUpdate: true })
    const out = new Map<string, string>()
    for (const topic of topics) {
      const id = metadata.topics.get(topic)?.id
      if (id !== undefined) out.set(topic, id)
    }
    return out
  }

  // The LMDB environment with stateStore 'lmdb' (its checkpoint, if a clean close left one, said in
  // the log); with 'memory', the files an earlier 'lmdb' run left are deleted.
  #openLmdb(directory: string): void {
    if (this.#config.stateStore !== 'lmdb') {
      rmSync(directory, { recursive: true, force: true })
      return
    }
    const lmdb = new LmdbStores(directory, { checkpoints: true })
    this.#lmdb = lmdb
    const opening = lmdb.opening
    const logger = this.#config.logger
    if (opening.kind === 'checkpoint') {
      logger?.info(
        { directory, databases: opening.databases, writtenAt: new Date(opening.writtenAt).toISOString() },
        'state stores: using the LMDB checkpoint of the last clean close',
      )
    } else if (opening.kind === 'discarded') {
      logger?.warn(
        { directory },
        `state stores: LMDB checkpoint not used (${opening.reason}); restoring from the changelogs`,
      )
    }
  }

  // An internal topic deleted while the application runs (by hand, or a reset that raced a start) fails
  // every restore and commit that needs it; Kafka Streams creates it again at the next rebalance. Here
  // the failed assignment does, before it is retried: the stores it backed start empty, said loudly.
  async #recreateMissingInternalTopics(): Promise<void> {
    const layout = this.#layout
    if (layout === undefined) return
    try {
      const { created } = await ensureTopics(
        this.#admin as Admin,
        [...layout.internalTopics],
        this.#config.replicationFactor,
      )
      if (created.length > 0) {
        this.#config.logger?.warn(
          { topics: created },
          `internal topic(s) ${created.join(', ')} had been deleted while the application ran and were ` +
            'created again: the state stores they back start empty (run a reset to rebuild them from the input)',
        )
      }
    } catch (error) {
      this.#config.logger?.warn({ err: error }, 'checking the internal topics after a failed assignment')
    }
  }

  // Where restore ends: the last stable offset. Under exactly-once, wait (bounded by the transaction
  // timeout) until it reaches the high watermark: the committed offsets just read may come from a
  // transaction whose marker has not yet reached a changelog on another broker, and only a
  // transaction already decided (or a zombie's, aborted by the timeout) can hold it back, since this
  // instance is the partition's only writer now.
  async #restoreEnds(
    changelogs: readonly { topic: string; partition: number }[],
    isolation: number,
  ): Promise<Map<string, number>> {
    if (isolation !== FetchIsolationLevels.READ_COMMITTED)
      return listOffsets(this.#consumer as Consumer, changelogs, 'latest', isolation)
    const { stable } = await stableEnds(this.#admin as Admin, changelogs, {
      waitMs: this.#config.transactionTimeoutMs + 5000,
      stop: () => this.#stopping,
    })
    return stable
  }

  // OffsetFetch with require_stable, retried while a transaction holds the offsets (UNSTABLE_OFFSET_COMMIT)
  // for up to the transaction timeout: a dead instance's transaction is aborted by then.
  async #stableCommittedOffsets(
    sources: { topic: string; partition: number }[],
  ): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    if (sources.length === 0) return out
    const byTopic = partitionsByTopic(sources)
    const admin = this.#admin as Admin
    const groups = await retryUntil(
      () =>
        admin.listConsumerGroupOffsets({
          groups: [
            {
              groupId: this.#config.applicationId,
              topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
            },
          ],
          requireStable: true,
        }),
      this.#config.transactionTimeoutMs + 30_000,
    )
    for (const topic of groups[0]?.topics ?? []) {
      for (const p of topic.partitions) {
        if (p.committedOffset >= 0n)
          out.set(partitionKey(topic.name, p.partitionIndex), Number(p.committedOffset))
      }
    }
    return out
  }

  async #positionSources(entries: TaskEntry[], committed: Map<string, number>): Promise<void> {
    const consumer = this.#consumer as Consumer
    const sources = entries.flatMap((e) => e.sources)
    if (sources.length === 0) return
    const missing = sources.filter((s) => !committed.has(partitionKey(s.topic, s.partition)))
    const internal = (this.#layout as TopologyLayout).repartitionTopics
    const reset = new Map([
      ...(await listOffsets(
        consumer,
        missing.filter((s) => internal.includes(s.topic)),
        'earliest',
      )),
      ...(await listOffsets(
        consumer,
        missing.filter((s) => !internal.includes(s.topic)),
        this.#config.autoOffsetReset,
      )),
    ])
    for (const entry of entries) {
      for (const s of entry.sources) {
        const key = partitionKey(s.topic, s.partition)
        const start = committed.get(key) ?? reset.get(key) ?? 0
        entry.fetchPositions.set(key, { topic: s.topic, partition: s.partition, offset: start })
        entry.committed.set(key, start)
      }
    }
  }

  #closeTask(entry: TaskEntry): void {
    const task = entry.task
    try {
      if (task.state === 'RUNNING' || task.state === 'RESTORING') task.suspend()
      if (task.state !== 'CLOSED') task.close()
    } catch (error) {
      this.#config.logger?.warn({ err: error, task: entry.id }, 'closing a task failed')
    }
  }

  // After a failed commit (or task initialization): drop every task and what it produced since the
  // last commit.
  #closeAllDirty(cause: unknown, rebuild = true): void {
    this.#config.logger?.warn({ err: cause }, 'rebuilding every task from the last commit')
    for (const entry of this.#tasks.values()) this.#closeTask(entry)
    const ids = [...this.#tasks.keys()]
    this.#tasks.clear()
    this.#dropUncommitted()
    // Recreate the same tasks at once, unless a rebalance is about to decide.
    if (rebuild && this.#pendingAssignment === undefined && this.#revocation === undefined) {
      this.#pendingAssignment = { generationId: this.#generationId, tasks: ids, rebuild: true }
    }
  }

  // ---- the loop ----------------------------------------------------------------------------------

  async #run(): Promise<void> {
    while (!this.#stopping) {
      this.#sampleMemory()
      if (
        this.#idleStream !== undefined &&
        (this.#consumer as Consumer).assignments !== this.#followedAssignments
      ) {
        await this.#followConsumerAssignment()
      }
      if (this.#revocation !== undefined) await this.#handleRevocation()
      if (this.#producerNeedsRenewal && this.#revocation === undefined) {
        this.#producerNeedsRenewal = false
        await this.#renewProducer()
      }
      if (this.#pendingAssignment !== undefined) {
        if (this.#revocation !== undefined) continue
        try {
          await this.#applyAssignment()
        } catch (error) {
          if (this.#stopping) return
          await sleep(500)
          await this.#recreateMissingInternalTopics()
          this.#closeAllDirty(error)
        }
        continue
      }
      if (this.#state !== 'RUNNING' || this.#tasks.size === 0) {
        await sleep(20)
        continue
      }
      await this.#step()
    }
  }

  /**
   * Reports the stores' sizes and the producer thread's heap to the metrics hooks, at most every
   * MEMORY_SAMPLE_MS (the thread's heap is never waited for).
   */
  #sampleMemory(): void {
    const now = performance.now()
    if (now < this.#nextMemorySample) return
    this.#nextMemorySample = now + MEMORY_SAMPLE_MS
    this.#metrics.stores?.(this.storeSizes())
    const report = this.#metrics.producerThreadHeap
    const committer = this.#committer
    if (report === undefined || !(committer instanceof ThreadedTransactionalCommitter)) return
    committer.heapStatistics().then(
      (heap) => {
        if (heap !== undefined) report.call(this.#metrics, heap.used_heap_size, heap.total_heap_size)
      },
      () => {}, // the thread ended meanwhile: its commits report that
    )
  }

  // Consumer protocol: the client revokes and assigns on its own (no hook before it acknowledges a
  // revocation). When its assignment moved, commit what can be committed (at-least-once: a revoked
  // partition's uncommitted work is redone by its next owner) and take the new set of tasks.
  async #followConsumerAssignment(): Promise<void> {
    const consumer = this.#consumer as Consumer
    const assignments = consumer.assignments
    this.#followedAssignments = assignments
    if (assignments === null) return
    const tasks = tasksOfAssignment(assignments, (this.#layout as TopologyLayout).subtopologies)
    const signature = tasks.join(',')
    if (signature === this.#assignmentSignature && this.#pendingAssignment === undefined) return
    this.#assignmentSignature = signature
    this.#rebalanceStartedAt = Date.now()
    if (this.#state === 'RUNNING') this.#setState('REBALANCING')
    await this.#settleFetch()
    try {
      await this.#commitAll('rebalance')
    } catch (error) {
      if (isFatal(error)) throw error
      this.#closeAllDirty(error, false)
    }
    this.#pendingAssignment = { generationId: this.#generationId + 1, tasks }
  }

  // One round: take the fetch that was in flight, start the next one at once (it travels while this
  // one is processed), process synchronously, and start a commit when one is due (it completes while
  // the next rounds fetch and process; the one after waits for it).
  async #step(): Promise<void> {
    if (this.#commitError !== undefined) {
      const error = this.#commitError
      this.#commitError = undefined
      await this.#recoverFromCommitFailure(error)
      return
    }
    const pending = this.#prefetch ?? this.#startFetch()
    this.#prefetch = undefined
    let fetched: FetchedPartition[]
    try {
      fetched = await pending.promise
      this.#fetchFailing = undefined
    } catch (error) {
      // A leader moved, a broker restarts: keep the positions, refresh the metadata, fetch again. A
      // source topic deleted fails every fetch until it is created again: not ready meanwhile.
      this.#fetchFailing = {
        since: this.#fetchFailing?.since ?? Date.now(),
        message: error instanceof Error ? error.message : String(error),
      }
      this.#config.logger?.warn({ err: error }, 'fetch failed; retrying')
      await sleep(500)
      const topics = (this.#layout as TopologyLayout).subtopologies.flatMap((s) => s.topics)
      await (this.#consumer as Consumer).metadata({ topics, forceUpdate: true }).catch(() => {})
      // What was handed off waits in an open transaction: commit it rather than let it time out.
      await this.#commitIfDue(Date.now())
      return
    }
    if (this.#preparing.size > 0 && !(await this.#prepareSerdes(fetched))) {
      // A serde could not get ready (a registry down): drop this fetch, it is read again next round.
      await sleep(500)
      await this.#commitIfDue(Date.now())
      return
    }
    for (const entry of this.#tasks.values()) {
      for (const s of entry.sources) {
        entry.residual.set(
          partitionKey(s.topic, s.partition),
          entry.task.bufferedRecordsOf(s.topic, s.partition),
        )
      }
    }
    const alignment = this.#alignment
    const exactlyOnce = this.#config.processingGuarantee === 'exactly_once'
    for (const batch of fetched) {
      if (alignment !== undefined && batch.topic === alignment.topic) {
        for (const record of batch.records) {
          const report = decodeReport(record.value)
          if (report !== undefined) alignment.state.observe(report)
        }
        alignment.position = { topic: batch.topic, partition: batch.partition, offset: batch.nextOffset }
        continue
      }
      const key = partitionKey(batch.topic, batch.partition)
      const entry = pending.owner.get(key)
      // The tasks may have changed while the fetch was in flight.
      if (entry === undefined || this.#tasks.get(entry.id) !== entry || entry.task.state !== 'RUNNING')
        continue
      if (!entry.fetchPositions.has(key)) continue
      if (batch.commitMarkers !== undefined) this.#markersFetched(key, batch.commitMarkers)
      if (batch.records.length > 0) {
        entry.task.addRecords(batch.topic, batch.partition, batch.records as InputRecord[])
        if (alignment !== undefined) entry.lastRecordsAt.set(key, Date.now())
      }
      entry.fetchPositions.set(key, {
        topic: batch.topic,
        partition: batch.partition,
        offset: batch.nextOffset,
      })
      const end = exactlyOnce && batch.lastStableOffset >= 0 ? batch.lastStableOffset : batch.highWatermark
      if (end >= 0) entry.ends.set(key, end)
      if (batch.highWatermark >= 0) {
        this.#metrics.partitionLag(
          batch.topic,
          batch.partition,
          Math.max(0, batch.highWatermark - batch.nextOffset),
        )
      }
    }
    if (this.#revocation === undefined && this.#pendingAssignment === undefined && !this.#stopping) {
      this.#prefetch = this.#startFetch()
    }
    // Output waits in memory while a commit is in flight: past a bound, wait for that commit first.
    if (this.#commitInFlight !== undefined && this.#transactionFull()) {
      await this.#commitInFlight
    }
    try {
      if (alignment !== undefined) alignment.bound = this.#alignToGroup(alignment)
      const processed = this.#processInEventTimeOrder(
        Math.min(alignment?.bound ?? Number.POSITIVE_INFINITY, this.#unreadBound()),
      )
      if (alignment !== undefined) this.#alignToGroup(alignment)
      if (processed > 0 && this.#metrics.handedToTransaction !== undefined)
        this.#handoff.push({ fetchedAt: pending.fetchedAt, records: processed })
      for (const entry of this.#tasks.values()) {
        if (entry.task.state === 'RUNNING') entry.task.punctuateWallClock()
      }
    } catch (error) {
      // A retryable fault (an async operator's rejection) restarts the tasks from the last commit.
      if (!(isTopologyError(error) && error.retryable)) throw error
      await this.#settleCommit().catch(() => {
        this.#producerNeedsRenewal = true
      })
      await this.#settleFetch()
      this.#closeAllDirty(error)
      return
    }
    const now = Date.now()
    if (this.#commitInFlight === undefined && !this.#commitDue(now) && this.#collector.size > 0) {
      // Results leave at once, in the transaction the next commit completes (while a commit is in
      // flight they wait: its transaction is closing).
      this.#handOff()
    }
    await this.#commitIfDue(now)
    if (now - this.#lastPurge >= this.#config.repartitionPurgeIntervalMs) {
      this.#lastPurge = now
      this.#purgeRepartitionTopics().catch((error) =>
        this.#config.logger?.warn({ err: error }, 'purging repartition topics failed'),
      )
    }
  }

  /** The next transaction holds maxTransactionRecords: processing waits for the commit. */
  #transactionFull(): boolean {
    return this.#collector.size + this.#handedOff >= this.#config.maxTransactionRecords
  }

  #commitDue(now: number): boolean {
    return now - this.#lastCommit >= this.#config.commitIntervalMs || this.#transactionFull()
  }

  /** Starts a commit when one is due and none is in flight (it completes while the next rounds run). */
  async #commitIfDue(now: number): Promise<void> {
    if (this.#commitInFlight !== undefined || !this.#commitDue(now)) return
    let prepared: PreparedCommit | undefined
    try {
      await this.#whenTasksIdle()
      prepared = this.#prepareCommit()
    } catch (error) {
      // A cache flush fed an async operator: the next round prepares again (the collector keeps
      // what the flush produced, and the offsets are taken then).
      if (isTopologyError(error, 'COMMIT_IN_FLIGHT')) return
      if (!(isTopologyError(error) && error.retryable)) throw error
      await this.#settleFetch()
      this.#closeAllDirty(error)
      return
    }
    if (prepared !== undefined) {
      this.#commitInFlight = this.#finishCommit(prepared, 'interval').then(
        () => {
          this.#commitInFlight = undefined
        },
        (error: unknown) => {
          this.#commitInFlight = undefined
          this.#commitError = error
        },
      )
    }
  }

  // Exactly-once: a commit's records become readable partition by partition, as the transaction
  // coordinator writes its markers after the commit returned, and the partitions of one repartition
  // topic show them at different rounds (P8: R1 partitions 5-7 readable a round before 0-4). Tasks that
  // read the partitions shown first processed minutes of event time of that commit, those reading the
  // others the same minutes a round later, and what they all wrote to the next repartition topic came
  // late for the windows behind it (tokens-per-template, behind two repartitions). So until every
  // repartition partition a completed commit wrote to (and a task here reads) has shown its marker, no
  // record later than the earliest timestamp written there plus a tolerance is processed, when the
  // commit spans more event time on that topic than the tolerance (#awaitMarkers).

  /**
   * Records sent to repartition topics: the event time they span per partition, for the next commit.
   * Each gets its partition here (the producer's partitioner, which then has nothing left to hash).
   */
  #noteWritten(records: readonly OutgoingRecord[]): void {
    if (this.#config.processingGuarantee !== 'exactly_once' || this.#repartitionTopics.size === 0) return
    const partitions = (this.#layout as TopologyLayout).partitions
    for (const r of records) {
      if (!this.#repartitionTopics.has(r.topic)) continue
      const count = partitions.get(r.topic)
      if (count === undefined) continue
      r.partition ??= r.key === undefined ? 0 : keyPartition(r.key, count)
      const key = partitionKey(r.topic, r.partition)
      const timestamp = Number(r.timestamp)
      const span = this.#written.get(key)
      if (span === undefined) this.#written.set(key, { topic: r.topic, low: timestamp, high: timestamp })
      else if (timestamp < span.low) span.low = timestamp
      else if (timestamp > span.high) span.high = timestamp
    }
  }

  /**
   * The commit `seq` takes what was written: its readers here wait for its markers, on the topics where
   * it spans more event time than the hold's tolerance (a replay's commit covers minutes; at a steady
   * rate a commit's few seconds of disorder cannot outrun a window's grace).
   */
  #awaitMarkers(seq: number, running: readonly TaskEntry[]): void {
    if (this.#written.size === 0) return
    const spans = new Map<string, { low: number; high: number }>()
    for (const { topic, low, high } of this.#written.values()) {
      const span = spans.get(topic)
      if (span === undefined) spans.set(topic, { low, high })
      else {
        span.low = Math.min(span.low, low)
        span.high = Math.max(span.high, high)
      }
    }
    const tolerance = this.#holdToleranceMs()
    for (const [key, { topic, low }] of this.#written) {
      if (!running.some((e) => e.fetchPositions.has(key))) continue
      const span = spans.get(topic) as { low: number; high: number }
      const holds = span.high - span.low > tolerance
      const commits = this.#unreadCommits.get(key)
      const commit: UnreadCommit = { seq, low, completedAt: undefined, holds }
      if (commits === undefined) this.#unreadCommits.set(key, [commit])
      else commits.push(commit)
    }
    this.#written.clear()
  }

  /**
   * How far past a commit's earliest record processing may go while its markers are awaited: the drift
   * the application tolerates between instances (eventTimeAlignment's maxDriftMs, chosen below the
   * windows' grace), else the turns' slack.
   */
  #holdToleranceMs(): number {
    return Math.max(EVENT_TIME_SLACK_MS, this.#config.eventTimeAlignment?.maxDriftMs ?? 0)
  }

  /** True while a completed commit that holds processing awaits its marker on this partition. */
  #holdsFor(key: string): boolean {
    return this.#unreadCommits.get(key)?.some((c) => c.holds) === true
  }

  /** Commit markers fetched from a partition: the oldest awaited commits there are readable now. */
  #markersFetched(key: string, producerIds: readonly bigint[]): void {
    const commits = this.#unreadCommits.get(key)
    if (commits === undefined) return
    const ours = this.#producerIdentity()?.producerId
    for (const id of producerIds) if (ours === undefined || id === ours) commits.shift()
    if (commits.length === 0) this.#unreadCommits.delete(key)
  }

  /** The latest event time processing may reach while completed commits' markers are awaited. */
  #unreadBound(): number {
    if (this.#unreadCommits.size === 0) return Number.POSITIVE_INFINITY
    const now = performance.now()
    const tolerance = this.#holdToleranceMs()
    let bound = Number.POSITIVE_INFINITY
    for (const [key, commits] of this.#unreadCommits) {
      const first = commits[0]
      if (first?.completedAt !== undefined && now - first.completedAt > UNREAD_COMMIT_GIVE_UP_MS) {
        // A partition not fetched meanwhile (its buffer full) is no surprise while nothing holds.
        if (commits.some((c) => c.holds)) {
          this.#config.logger?.warn(
            { partition: key.replace('\u0000', '-') },
            'no commit marker fetched from a repartition partition long after its commit; not waiting',
          )
        }
        this.#unreadCommits.delete(key)
        continue
      }
      for (const c of commits) {
        if (c.holds && c.completedAt !== undefined && c.low + tolerance < bound) bound = c.low + tolerance
      }
    }
    return bound
  }

  // A fetch brings each partition's backlog whole: processed task after task, the output of the
  // first would run minutes of event time ahead of the others', and a repartition topic they all
  // write would hand its reader records far out of order (late for their windows on a replay). So
  // the tasks take turns in small slices, the one with the earliest next record first.
  // A round also stops once the transaction holds maxTransactionRecords: what is left stays buffered
  // in the tasks (their partitions are not fetched meanwhile) for the rounds after the commit.
  // With eventTimeAlignment no record later than `bound` is processed (see event-time-alignment.ts).
  #processInEventTimeOrder(bound: number): number {
    const running = [...this.#tasks.values()].filter((e) => e.task.state === 'RUNNING').map((e) => e.task)
    const full = () => this.#transactionFull()
    let processed = 0
    if (running.length === 1) {
      const task = running[0] as StreamTask
      while (!full()) {
        const n = task.process(16 * EVENT_TIME_SLICE, bound)
        if (n === 0) break
        processed += n
      }
      return processed
    }
    for (;;) {
      if (full()) return processed
      let next: StreamTask | undefined
      let earliest = Number.POSITIVE_INFINITY
      let second = Number.POSITIVE_INFINITY
      for (const task of running) {
        const ts = task.nextTimestamp()
        if (ts < earliest) {
          second = earliest
          earliest = ts
          next = task
        } else if (ts < second) second = ts
      }
      if (next === undefined || earliest > bound) return processed
      // A turn ends past the next task's head (and a little slack): a slice of sparse records would
      // otherwise run minutes of event time ahead of the other tasks.
      processed += next.process(EVENT_TIME_SLICE, Math.min(second + EVENT_TIME_SLACK_MS, bound))
    }
  }

  // Source serdes that want an asynchronous step per batch (Serde.prepare), by topic: keys and values.
  async #prepareSerdes(fetched: readonly FetchedPartition[]): Promise<boolean> {
    const work: Promise<void>[] = []
    for (const batch of fetched) {
      const serdes = this.#preparing.get(batch.topic)
      if (serdes === undefined || batch.records.length === 0) continue
      if (serdes.key?.prepare !== undefined) {
        const keys = batch.records.flatMap((r) => (r.key === null ? [] : [r.key]))
        work.push(serdes.key.prepare(batch.topic, keys))
      }
      if (serdes.value?.prepare !== undefined) {
        const values = batch.records.flatMap((r) => (r.value === null ? [] : [r.value]))
        work.push(serdes.value.prepare(batch.topic, values))
      }
    }
    try {
      await Promise.all(work)
      return true
    } catch (error) {
      this.#config.logger?.warn({ err: error }, 'a source serde could not prepare a batch; fetching it again')
      return false
    }
  }

  // Positions of every running task's partitions whose backlog (records fetched but not processed at
  // the end of the previous round) is under the bound: the fetch pauses for a partition that lags, not
  // for its whole task. A task that reads its input topics and a repartition topic (a join beside the
  // table it reads) holds a large backlog of input while the repartition partition is still empty:
  // paused with the task, that partition was first read once the backlog drained, at different rounds
  // for different tasks, minutes of event time apart, and what they wrote downstream came late for its
  // windows (P8: a quarter of tokens-per-template's records on a replay).
  #startFetch(): PendingFetch {
    const fetcher = this.#fetcher as PartitionFetcher
    const positions: PartitionPosition[] = []
    const owner = new Map<string, TaskEntry>()
    const limit = this.#config.maxBufferedRecordsPerPartition
    for (const entry of this.#tasks.values()) {
      if (entry.task.state !== 'RUNNING') continue
      for (const [key, position] of entry.fetchPositions) {
        // A partition whose commit marker is awaited is fetched whatever it holds: the bound waits for it.
        if ((entry.residual.get(key) ?? 0) >= limit && !this.#holdsFor(key)) continue
        positions.push(position)
        owner.set(key, entry)
      }
    }
    if (this.#alignment !== undefined) positions.push(this.#alignment.position)
    const promise = positions.length > 0 ? fetcher.fetch(positions) : sleep(5).then(() => [])
    const pending: PendingFetch = { owner, promise, fetchedAt: 0 }
    // A rejection is taken by the round that awaits it; never an unhandled one meanwhile.
    promise.then(
      () => {
        pending.fetchedAt = performance.now()
      },
      () => {},
    )
    return pending
  }

  /** Waits for the fetch in flight, dropping its records (the tasks are about to change). */
  async #settleFetch(): Promise<void> {
    const pending = this.#prefetch
    this.#prefetch = undefined
    if (pending !== undefined) await pending.promise.catch(() => {})
  }

  /** Waits for the commit in flight; throws its error if it failed. */
  async #settleCommit(): Promise<void> {
    if (this.#commitInFlight !== undefined) await this.#commitInFlight
    const error = this.#commitError
    this.#commitError = undefined
    if (error !== undefined) throw error
  }

  async #recoverFromCommitFailure(error: unknown): Promise<void> {
    if (isFatal(error)) throw error
    // Fenced again and again: another live process runs with this instance id.
    if (isTopologyError(error, 'PRODUCER_FENCED') && ++this.#fencedInARow >= 3) {
      throw new TopologyError(
        'PRODUCER_FENCED',
        `fenced ${this.#fencedInARow} times in a row: another process runs with instance id ` +
          `${this.#lock?.instanceId}; give each instance its own instanceId`,
        { cause: error },
      )
    }
    await this.#settleFetch()
    this.#closeAllDirty(error)
    await this.#renewProducer()
  }

  async #whenTasksIdle(): Promise<void> {
    for (const entry of this.#tasks.values()) if (entry.task.inFlight > 0) await entry.task.whenIdle()
  }

  /** Commits everything processed so far and waits for it (rebalance, shutdown). */
  async #commitAll(reason: string): Promise<void> {
    await this.#settleCommit()
    for (;;) {
      await this.#whenTasksIdle()
      try {
        const prepared = this.#prepareCommit()
        if (prepared !== undefined) await this.#finishCommit(prepared, reason)
        return
      } catch (error) {
        if (!isTopologyError(error, 'COMMIT_IN_FLIGHT')) throw error
      }
    }
  }

  // Synchronous from the caches' flush to the drain of the collector, so that no record processed in
  // between can slip into this commit without its offset.
  #prepareCommit(): PreparedCommit | undefined {
    if (this.#abandoned) return undefined
    const running = [...this.#tasks.values()].filter((e) => e.task.state === 'RUNNING')
    const offsets: TopicPartitionOffset[] = []
    const consumedByTopic = new Map<string, number>()
    // combine()'s folds of every task first, in one timestamp order (a stable sort): each task's are
    // sorted, but sent task after task a repartition topic they all write would get one task's folds of
    // minutes of event time before another's earlier ones, which its windows would find late.
    const folds = running.flatMap((entry) => entry.task.heldFolds())
    folds.sort((a, b) => a.timestamp - b.timestamp)
    for (const fold of folds) fold.forward()
    for (const entry of running) {
      const bundle = entry.task.prepareCommit()
      for (const o of bundle.offsets) {
        const key = partitionKey(o.topic, o.partition)
        const before = entry.committed.get(key)
        if (before === o.offset) continue
        consumedByTopic.set(o.topic, (consumedByTopic.get(o.topic) ?? 0) + o.offset - (before ?? o.offset))
        offsets.push(o)
      }
    }
    const records = this.#collector.drain().map(toOutgoing)
    this.#noteWritten(records)
    const seq = ++this.#commitSeq
    this.#awaitMarkers(seq, running)
    const alignment = this.#alignment
    if (alignment !== undefined) {
      // This commit makes visible what was processed since the last one.
      let committing = Number.POSITIVE_INFINITY
      for (const entry of running) {
        for (const s of entry.inputs) {
          committing = Math.min(committing, entry.task.lowestProcessedOf(s.topic, s.partition, true))
        }
      }
      alignment.committing = committing
    }
    // Records already handed off need this commit even when nothing else does (a punctuator's output).
    const handedOff = this.#handedOff
    this.#handedOff = 0
    this.#observeHandoff()
    for (const letter of this.#collector.drainDeadLetters()) {
      this.#metrics.deadLetter(letter.cause.code)
      records.push(
        deadLetterRecord(
          this.#config.deadLetterTopic,
          {
            topic: letter.record.topic,
            partition: letter.record.partition,
            offset: BigInt(letter.record.offset),
            key: letter.record.key,
            value: letter.record.value,
            timestamp: BigInt(letter.record.timestamp),
            headers: letter.record.headers,
          },
          {
            code: letter.cause.code,
            reason: letter.cause.reason,
            ...(letter.cause.details === undefined ? {} : { details: letter.cause.details }),
          },
        ),
      )
    }
    for (const letter of this.#collector.drainLateRecords()) {
      records.push(lateRecordMessage(this.#config.lateRecordTopic, letter))
    }
    this.#lastCommit = Date.now()
    if (records.length === 0 && offsets.length === 0 && handedOff === 0) return undefined
    // A transaction without offsets would not be group-fenced (a punctuator's output, say): commit an
    // unchanged offset with it, so that a member the group has moved past cannot commit it.
    if (offsets.length === 0 && this.#config.processingGuarantee === 'exactly_once') {
      for (const entry of running) {
        const first = entry.sources[0]
        const at =
          first === undefined ? undefined : entry.committed.get(partitionKey(first.topic, first.partition))
        if (first !== undefined && at !== undefined) {
          offsets.push({ topic: first.topic, partition: first.partition, offset: at })
          break
        }
      }
    }
    return { generationId: this.#generationId, seq, handedOff, running, offsets, records, consumedByTopic }
  }

  #handOff(): void {
    const records = this.#collector.drain().map(toOutgoing)
    this.#noteWritten(records)
    this.#handedOff += records.length
    ;(this.#committer as Committer).handoff(records)
    this.#observeHandoff()
  }

  #observeHandoff(): void {
    for (const round of this.#handoff) this.#metrics.handedToTransaction?.(round.fetchedAt, round.records)
    this.#handoff.length = 0
  }

  async #finishCommit(prepared: PreparedCommit, reason: string): Promise<void> {
    const committer = this.#committer as Committer
    const started = Date.now()
    this.#committing = true
    try {
      await committer.commit(prepared.records, prepared.offsets, prepared.generationId)
    } catch (error) {
      this.#metrics.transactionAborted(classifyCommitError(error))
      throw wrapCommitError(error, reason)
    } finally {
      this.#committing = false
      // Committed, or aborted and redone from the committed offsets (the heads of the rebuilt tasks).
      if (this.#alignment !== undefined) this.#alignment.committing = Number.POSITIVE_INFINITY
    }
    for (const entry of prepared.running) {
      if (entry.task.state === 'RUNNING' || entry.task.state === 'SUSPENDED') entry.task.postCommit()
      for (const o of prepared.offsets) {
        const key = partitionKey(o.topic, o.partition)
        if (entry.committed.has(key)) entry.committed.set(key, o.offset)
      }
    }
    this.#fencedInARow = 0
    const completedAt = performance.now()
    for (const commits of this.#unreadCommits.values()) {
      for (const c of commits) if (c.seq === prepared.seq) c.completedAt = completedAt
    }
    if (this.#config.logger?.isLevelEnabled('debug') === true) {
      this.#config.logger.debug(
        {
          reason,
          producerEpoch: this.#producerIdentity()?.producerEpoch,
          records: prepared.records.length + prepared.handedOff,
          offsets: prepared.offsets.map((o) => `${o.topic}-${o.partition}@${o.offset}`),
        },
        'committed',
      )
    }
    for (const [topic, count] of prepared.consumedByTopic) this.#metrics.recordsConsumed(topic, count)
    this.#metrics.commit(Date.now() - started, prepared.records.length + prepared.handedOff)
  }

  // After a failed commit the producer may hold a half-finished transaction: a new producer with the
  // same transactional id aborts it and bumps the epoch.
  async #renewProducer(): Promise<void> {
    if (this.#config.processingGuarantee !== 'exactly_once') return
    await this.#committer?.close().catch(() => {})
    await this.#startTransactionalProducer('producer renewed')
  }

  // The instance's transactional producer under its stable transactional id: registering it completes
  // (aborts, or finishes committing) whatever transaction a previous producer of this id left open.
  async #startTransactionalProducer(
    message: string,
    committer: Committer = this.#newTransactionalCommitter(),
  ): Promise<void> {
    this.#committer = committer
    await retryUntil(() => committer.initialize(), this.#config.transactionTimeoutMs + 30_000)
    this.#logProducer(message)
  }

  /** A transactional committer, on the producer thread or on this one (config.producerThread). */
  #newTransactionalCommitter(): Committer {
    const config = this.#config
    const instanceId = this.#lock?.instanceId ?? ''
    const transactionalId = `${config.applicationId}-${instanceId}`
    const clientId = `${config.clientId}-${instanceId}-producer`
    if (config.producerThread) {
      try {
        // The group member is read at each commit: the consumer is created after the thread.
        return new ThreadedTransactionalCommitter(
          { kafka: this.#kafka(), transactionalId, clientId, timeout: config.transactionTimeoutMs },
          () => this.#consumer as Consumer,
        )
      } catch (error) {
        // The thread gets a copy of the connection settings: functions and class instances do not copy.
        throw new TopologyError(
          'INVALID_CONFIG',
          `connection: the producer thread cannot take these settings (${String(error)}); give plain ` +
            'data (strings, numbers, booleans), or set producerThread: false',
          { subject: 'connection', cause: error },
        )
      }
    }
    this.#producer = createTransactionalProducer<Buffer, Buffer, Buffer, Buffer>(
      this.#kafka(),
      transactionalId,
      { clientId, timeout: config.transactionTimeoutMs },
    )
    return new TransactionalCommitter(this.#producer, this.#consumer as Consumer)
  }

  /** How every client of this instance connects (the renewed producer as the first one). */
  #kafka(): KafkaConfig {
    const config = this.#config
    return {
      bootstrapServers: [...config.bootstrapServers],
      clientId: config.clientId,
      replicationFactor: config.replicationFactor,
      ...config.connection,
    }
  }

  // Which producer id and epoch the transactions carry from now on: with the committed offsets and the
  // restore ranges logged at debug level, a duplicate in an output can be traced to its writer.
  #logProducer(message: string): void {
    const producer = this.#producerIdentity()
    if (producer === undefined || this.#config.logger?.isLevelEnabled('debug') !== true) return
    this.#config.logger.debug(
      { producerId: String(producer.producerId), producerEpoch: producer.producerEpoch },
      message,
    )
  }

  /** The transactional producer's id and epoch, on this thread or the producer thread. */
  #producerIdentity(): ProducerIdentity | undefined {
    if (this.#committer instanceof ThreadedTransactionalCommitter) return this.#committer.identity
    return this.#producer
  }

  // Kafka Streams deletes what every consumer of a repartition topic has committed past.
  async #purgeRepartitionTopics(): Promise<void> {
    const layout = this.#layout
    if (layout === undefined || layout.repartitionTopics.length === 0) return
    const targets: { topic: string; partition: number; offset: number }[] = []
    for (const entry of this.#tasks.values()) {
      for (const [key, offset] of entry.committed) {
        const topic = key.slice(0, key.lastIndexOf('\u0000'))
        if (!layout.repartitionTopics.includes(topic)) continue
        targets.push({ topic, partition: Number(key.slice(key.lastIndexOf('\u0000') + 1)), offset })
      }
    }
    if (targets.length === 0) return
    const admin = this.#admin as Admin
    {
      const byTopic = new Map<string, { partition: number; offset: bigint }[]>()
      for (const t of targets) {
        ;(byTopic.get(t.topic) ?? byTopic.set(t.topic, []).get(t.topic))?.push({
          partition: t.partition,
          offset: BigInt(t.offset),
        })
      }
      await admin.deleteRecords({
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
      } as never)
    }
  }
}

function toOutgoing(record: ProducerRecord): OutgoingRecord {
  const out: OutgoingRecord = { topic: record.topic, timestamp: BigInt(record.timestamp) }
  if (record.key !== null) out.key = record.key
  if (record.value !== null) out.value = record.value
  if (record.partition !== undefined) out.partition = record.partition
  if (record.headers.size > 0) {
    const headers = new Map<Buffer, Buffer>()
    for (const [k, v] of record.headers) headers.set(Buffer.from(k), v)
    out.headers = headers
  }
  return out
}
