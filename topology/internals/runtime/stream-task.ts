// One task: one partition of one sub-topology, with its processors, its stores and its input queues.
// It processes buffered records synchronously through the node graph (offset order per partition, by
// timestamp across partitions), keeps stream time, runs punctuators, and prepares commits: flush the
// caches (which forwards downstream and writes changelog records through the collector), then hand over
// the offsets. It never commits itself and knows nothing of Kafka: the runtime feeds it records, gives it
// a collector, and puts what it collected and the offsets in one transaction.
import { TopologyError } from '../../errors.js'
import { type EngineMetrics, NO_METRICS } from '../../metrics.js'
import type { Cancellable, PunctuationType, Punctuator, RecordContext } from '../../processor.js'
import type { DeserializationExceptionHandler, ProcessingExceptionHandler } from '../../record-handlers.js'
import type { StateStore } from '../../state-store.js'
import type { StreamRecord } from '../../stream-record.js'
import type { StoreSpec, TopologyGraph } from '../graph/topology-graph.js'
import { type FlushedAtCommit, isFlushedAtCommit } from '../processors/combine-processor.js'
import type { SourceProcessor } from '../processors/source-processor.js'
import { buildKeyValueStore, type ChangelogRecord } from '../state/build-key-value-store.js'
import { CacheBudget } from '../state/cache-budget.js'
import type { LmdbStores } from '../state/lmdb-key-value-store.js'
import type { StoreEnvironment } from '../state/store-environment.js'
import { buildSessionStore, buildWindowStore } from '../state/window-build-store.js'
import { BadRecordHandler, describeError } from './bad-record-handler.js'
import type { InputRecord } from './input-record.js'
import type { ProcessorNode, TaskServices } from './node-context.js'
import { PartitionGroup } from './partition-group.js'
import { PunctuationSchedule } from './punctuation-schedule.js'
import type { RecordCollector } from './record-collector.js'
import { punctuationContext, type RecordContextHolder } from './record-context-holder.js'
import { createTaskNodes } from './task-nodes.js'
import { TaskLifecycle, type TaskState } from './task-state.js'

export interface StreamTaskOptions {
  readonly graph: TopologyGraph
  readonly subtopology: number
  readonly partition: number
  readonly applicationId: string
  readonly collector: RecordCollector
  /** Wall-clock milliseconds; the test driver passes its mock clock. */
  readonly clock?: () => number
  readonly metrics?: EngineMetrics
  /** Byte budget the task's caching stores share for their dirty entries; 0 turns every cache off. Default 10 MiB. */
  readonly cacheMaxBytes?: number
  /** A record that does not deserialize or has an invalid timestamp. Default 'dead-letter'. */
  readonly deserializationExceptionHandler?: DeserializationExceptionHandler
  /** An error a processor throws while processing a record synchronously. Default 'fail'. */
  readonly processingExceptionHandler?: ProcessingExceptionHandler
  /**
   * With several input partitions, how long (by the task's clock) to wait for an empty one before
   * processing the others out of event-time order. Default 0: never wait.
   */
  readonly maxTaskIdleMs?: number
  /** Where the key-value stores with key and value serdes keep their entries (stateStore 'lmdb'); in memory without it. */
  readonly lmdb?: LmdbStores
  /** With lmdb: window and session stores there too (windowStateStore 'lmdb'). */
  readonly lmdbWindows?: boolean
}

export interface TopicPartitionOffset {
  readonly topic: string
  readonly partition: number
  /** The next offset to read, what Kafka stores as the committed offset. */
  readonly offset: number
}

export interface ChangelogPartition {
  readonly store: string
  readonly topic: string
  readonly partition: number
  /** True when the store keeps its entries in LMDB files (a checkpoint may cover them). */
  readonly persistent: boolean
}

export interface CommitBundle {
  readonly taskId: string
  readonly offsets: readonly TopicPartitionOffset[]
  readonly recordsProcessed: number
}

/** What the task keeps of each store, whatever its kind: the store processors see and its restore path. */
interface BuiltStore {
  readonly store: StateStore & {
    flush(): void
    close(): void
    approximateNumEntries(): number
    approximateBytes(): number
  }
  /** Undefined when logging is off: such a store starts empty. */
  readonly changelogTopic: string | undefined
  restore(records: Iterable<ChangelogRecord>): number
  /** Called once the restore is done or skipped, before the processors' init. */
  afterRestore?(): void
  /** Awaited before restore(records) when the store's value serde needs it (Serde.prepare). */
  prepareRestore?(records: readonly ChangelogRecord[]): Promise<void>
  hasDirtyEntries(): boolean
}

// Errors of user code and of serializers go to the processing exception handler; the engine's own
// (a misused store, a pipe() that is not synchronous) always fail the task.
function isHandledProcessingError(error: unknown): boolean {
  return !(error instanceof TopologyError) || error.code === 'SERIALIZATION_FAILED'
}

// The record context of a record whose extractor changed its timestamp.
function withTimestamp(input: InputRecord, timestamp: number): RecordContext {
  return {
    topic: input.topic,
    partition: input.partition,
    offset: input.offset,
    timestamp,
    headers: input.headers,
  }
}

export class StreamTask {
  readonly id: string
  readonly #options: StreamTaskOptions
  readonly #lifecycle: TaskLifecycle
  readonly #recordContext: RecordContextHolder = { current: undefined }
  readonly #partitions: PartitionGroup<SourceProcessor>
  readonly #badRecords: BadRecordHandler
  readonly #streamPunctuation = new PunctuationSchedule()
  readonly #wallClockPunctuation = new PunctuationSchedule()
  readonly #nodes: readonly ProcessorNode[]
  /** The nodes that hold records back until a commit (combine()). */
  readonly #combiners: readonly FlushedAtCommit[]
  readonly #stores = new Map<string, BuiltStore>()
  readonly #services: TaskServices
  readonly #clock: () => number
  #streamTime = -1
  #inFlight = 0
  #idleWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = []
  #fault: unknown
  #processedSinceCommit = 0
  #processorsInitialized = false

  constructor(options: StreamTaskOptions) {
    this.#options = options
    this.id = `${options.subtopology}_${options.partition}`
    this.#lifecycle = new TaskLifecycle(this.id)
    this.#clock = options.clock ?? Date.now
    const maxIdle = options.maxTaskIdleMs ?? 0
    if (!(maxIdle >= 0)) {
      throw new TopologyError('INVALID_ARGUMENT', `maxTaskIdleMs must be 0 or more, got ${maxIdle}`)
    }
    this.#partitions = new PartitionGroup<SourceProcessor>(maxIdle, this.#clock)
    this.#badRecords = new BadRecordHandler(
      this.id,
      options.collector,
      options.metrics ?? NO_METRICS,
      options.deserializationExceptionHandler,
      options.processingExceptionHandler,
    )
    this.#services = this.#makeServices()
    const sub = options.graph.subtopologies[options.subtopology]
    if (sub === undefined) {
      throw new TopologyError('INVALID_ARGUMENT', `the topology has no sub-topology ${options.subtopology}`)
    }
    this.#nodes = createTaskNodes(
      options.graph,
      sub,
      { ...options, badRecords: this.#badRecords },
      this.#services,
      this.#partitions,
    )
    this.#combiners = this.#nodes.flatMap((node) =>
      isFlushedAtCommit(node.processor) ? [node.processor] : [],
    )
  }

  get state(): TaskState {
    return this.#lifecycle.state
  }

  get partition(): number {
    return this.#options.partition
  }

  /** The largest timestamp processed so far, -1 before the first record. */
  get streamTime(): number {
    return this.#streamTime
  }

  /** Records inside asynchronous operators; a commit needs zero. */
  get inFlight(): number {
    return this.#inFlight
  }

  /** Records buffered for one input partition (0 for a partition the task does not read). */
  bufferedRecordsOf(topic: string, partition: number): number {
    return this.#partitions.queue(topic, partition)?.size ?? 0
  }

  /** Event time of the next buffered record of a partition (decoding it), +Infinity when none. */
  headTimestampOf(topic: string, partition: number): number {
    return this.#partitions.queue(topic, partition)?.headTimestamp() ?? Number.POSITIVE_INFINITY
  }

  /**
   * The earliest event time processed from a partition since the last call with `reset` (+Infinity:
   * none): the runtime resets it as a commit takes the offsets past those records.
   */
  lowestProcessedOf(topic: string, partition: number, reset: boolean): number {
    return this.#partitions.queue(topic, partition)?.lowestTaken(reset) ?? Number.POSITIVE_INFINITY
  }

  /** The latest event time processed from a partition; -1 before any. */
  partitionTimeOf(topic: string, partition: number): number {
    return this.#partitions.queue(topic, partition)?.partitionTime ?? -1
  }

  /** True when buffered records wait for an empty input partition (maxTaskIdleMs). */
  get waitingForInput(): boolean {
    return this.#partitions.waiting
  }

  /** The error that failed this task, if any: the runtime closes it and resumes from the last commit. */
  get fault(): unknown {
    return this.#fault
  }

  /** Full names of the topics this task reads (repartition topics prefixed with the application id). */
  sourceTopics(): string[] {
    return this.#partitions.queues.map((q) => q.topic)
  }

  /** CREATED -> RESTORING: builds the stores and tells which changelog partitions to restore from. */
  initializeStores(): ChangelogPartition[] {
    this.#lifecycle.transitionTo('RESTORING')
    if (this.#stores.size === 0) this.#buildStores()
    return this.changelogPartitions()
  }

  /** The changelog partition of each logged store (built by initializeStores()). */
  changelogPartitions(): ChangelogPartition[] {
    const out: ChangelogPartition[] = []
    for (const [store, built] of this.#stores) {
      if (built.changelogTopic !== undefined)
        out.push({
          store,
          topic: built.changelogTopic,
          partition: this.partition,
          persistent: built.store.persistent,
        })
    }
    return out
  }

  /**
   * What restore() needs done first, asynchronously, for these records (a registry serde fetches the
   * writer schemas it has not seen); undefined when nothing.
   */
  prepareRestore(storeName: string, records: readonly ChangelogRecord[]): Promise<void> | undefined {
    return this.#requireStore(storeName).prepareRestore?.(records)
  }

  /** Writes changelog records straight into a store's in-memory layer (no cache, no logging). */
  restore(storeName: string, records: Iterable<ChangelogRecord>): number {
    this.#lifecycle.require(['RESTORING'], 'restore')
    return this.#requireStore(storeName).restore(records)
  }

  /** RESTORING -> RUNNING: initializes the processors (once) so that processing can start. */
  completeRestoration(): void {
    this.#lifecycle.transitionTo('RUNNING')
    if (!this.#processorsInitialized) {
      this.#processorsInitialized = true
      for (const built of this.#stores.values()) built.afterRestore?.()
      for (const node of this.#nodes) node.processor.init?.(node.context)
    }
  }

  addRecords(topic: string, partition: number, records: readonly InputRecord[]): void {
    const queue = this.#partitions.queue(topic, partition)
    if (queue === undefined) {
      throw new TopologyError('UNKNOWN_TOPIC', `task ${this.id} does not read ${topic}-${partition}`, {
        taskId: this.id,
      })
    }
    queue.add(records)
  }

  /**
   * The timestamp of the record process() would take next, +Infinity when none is ready: a runtime
   * with several tasks processes the one with the earliest record first, so that what they write to
   * a repartition topic comes in (nearly) event-time order.
   */
  nextTimestamp(): number {
    if (this.#fault !== undefined || this.#lifecycle.state !== 'RUNNING') return Number.POSITIVE_INFINITY
    return this.#partitions.next()?.headTimestamp() ?? Number.POSITIVE_INFINITY
  }

  /** Processes up to `max` buffered records, stopping before one with a timestamp past `until`; returns how many. */
  process(max = Number.POSITIVE_INFINITY, until = Number.POSITIVE_INFINITY): number {
    this.#lifecycle.require(['RUNNING'], 'process records')
    this.#throwIfFaulted()
    const holder = this.#recordContext
    const partitions = this.#partitions
    let count = 0
    try {
      while (count < max) {
        const queue = partitions.next()
        if (queue === undefined) break
        const record = queue.headRecord as StreamRecord<unknown, unknown>
        if (record.timestamp > until) break
        const input = queue.take() as InputRecord
        const timestamp = record.timestamp
        holder.current = timestamp === input.timestamp ? input : withTimestamp(input, timestamp)
        if (timestamp > this.#streamTime) this.#streamTime = timestamp
        try {
          queue.source.process(record)
        } catch (error) {
          if (this.#fault !== undefined || !isHandledProcessingError(error)) throw error
          this.#badRecords.processingFailed(input, error, {
            code: 'PROCESSING_FAILED',
            reason: `task ${this.id}: ${describeError(error)}`,
          })
        }
        count++
        if (this.#streamTime >= this.#streamPunctuation.nextDue)
          this.#punctuate(this.#streamPunctuation, this.#streamTime)
      }
    } catch (error) {
      throw this.#failWith(error)
    } finally {
      this.#processedSinceCommit += count
    }
    return count
  }

  /** Runs the wall-clock punctuators due at `now` (the runtime's clock by default). */
  punctuateWallClock(now = this.#clock()): number {
    this.#lifecycle.require(['RUNNING'], 'punctuate')
    this.#throwIfFaulted()
    if (now < this.#wallClockPunctuation.nextDue) return 0
    try {
      return this.#punctuate(this.#wallClockPunctuation, now)
    } catch (error) {
      throw this.#failWith(error)
    }
  }

  /** Resolves when no record is in flight in an async operator; rejects if the task fails meanwhile. */
  whenIdle(): Promise<void> {
    if (this.#fault !== undefined) return Promise.reject(this.#fault)
    if (this.#inFlight === 0) return Promise.resolve()
    return new Promise((resolve, reject) => this.#idleWaiters.push({ resolve, reject }))
  }

  /**
   * Flushes the caches (forwarding downstream and logging), then returns the offsets to commit. Throws
   * COMMIT_IN_FLIGHT when records are in flight (also when the flush itself sent records into an async
   * operator): await whenIdle() and call again. Use commitWhenIdle() for both steps.
   */
  prepareCommit(): CommitBundle {
    this.#lifecycle.require(['RUNNING', 'SUSPENDED'], 'commit')
    this.#throwIfFaulted()
    this.#requireIdle()
    try {
      this.#flushStores()
    } catch (error) {
      throw this.#failWith(error)
    }
    this.#requireIdle()
    const offsets: TopicPartitionOffset[] = []
    for (const q of this.#partitions.queues) {
      if (q.nextOffset >= 0) offsets.push({ topic: q.topic, partition: q.partition, offset: q.nextOffset })
    }
    return { taskId: this.id, offsets, recordsProcessed: this.#processedSinceCommit }
  }

  /**
   * What combine() holds back, each fold with its timestamp and a forward() that sends it on through
   * this task (a failure faults the task, as in prepareCommit). The Kafka runtime forwards the folds of
   * all its tasks in one timestamp order before their prepareCommit, so that a repartition topic they
   * all write receives them in event-time order.
   */
  heldFolds(): { readonly timestamp: number; forward(): void }[] {
    this.#lifecycle.require(['RUNNING', 'SUSPENDED'], 'commit')
    this.#throwIfFaulted()
    return this.#combiners.flatMap((combiner) =>
      combiner.takeHeld().map((fold) => ({
        timestamp: fold.timestamp,
        forward: () => {
          try {
            combiner.forwardHeld(fold)
          } catch (error) {
            throw this.#failWith(error)
          }
        },
      })),
    )
  }

  async commitWhenIdle(): Promise<CommitBundle> {
    for (;;) {
      await this.whenIdle()
      try {
        return this.prepareCommit()
      } catch (error) {
        if (!(error instanceof TopologyError && error.code === 'COMMIT_IN_FLIGHT')) throw error
      }
    }
  }

  /** After the runtime committed the bundle's transaction. */
  postCommit(): void {
    this.#options.metrics?.recordsProcessed(this.id, this.#processedSinceCommit)
    this.#processedSinceCommit = 0
  }

  /** RUNNING (or RESTORING) -> SUSPENDED; the runtime commits before (a clean suspend). */
  suspend(): void {
    this.#lifecycle.transitionTo('SUSPENDED')
  }

  /** SUSPENDED -> RESTORING: the task was assigned back; restoration catches up from the changelog. */
  resume(): void {
    this.#lifecycle.transitionTo('RESTORING')
  }

  /** -> CLOSED: closes processors and stores and drops buffered records. Only from CREATED or SUSPENDED. */
  close(): void {
    this.#lifecycle.transitionTo('CLOSED')
    for (const node of this.#nodes) node.processor.close?.()
    for (const built of this.#stores.values()) built.store.close()
    this.#partitions.clear()
  }

  /** Each store's entries and an estimate of the memory it holds (store-bytes.ts). */
  storeSizes(): { store: string; entries: number; bytes: number }[] {
    return [...this.#stores].map(([store, built]) => ({
      store,
      entries: built.store.approximateNumEntries(),
      bytes: built.store.approximateBytes(),
    }))
  }

  getStore(name: string): StateStore | undefined {
    return this.#stores.get(name)?.store
  }

  #requireStore(name: string): BuiltStore {
    const built = this.#stores.get(name)
    if (built === undefined) {
      throw new TopologyError('UNKNOWN_STORE', `task ${this.id} has no store ${name}`, {
        subject: name,
        taskId: this.id,
      })
    }
    return built
  }

  #requireIdle(): void {
    if (this.#inFlight > 0) {
      throw new TopologyError(
        'COMMIT_IN_FLIGHT',
        `task ${this.id} has ${this.#inFlight} record(s) in flight: await whenIdle() before committing`,
        { taskId: this.id },
      )
    }
  }

  // What combine() holds back goes on first (into caches, sinks or a later combine()); a cache flush can
  // forward into a store or a combine() of a later node, so repeat until nothing is held anywhere.
  #flushStores(): void {
    for (let pass = 0; pass < 16; pass++) {
      let dirty = false
      for (const combiner of this.#combiners) combiner.flushAtCommit()
      for (const built of this.#stores.values()) built.store.flush()
      for (const combiner of this.#combiners) dirty ||= combiner.pending
      for (const built of this.#stores.values()) dirty ||= built.hasDirtyEntries()
      if (!dirty) return
    }
  }

  #punctuate(schedule: PunctuationSchedule, now: number): number {
    const holder = this.#recordContext
    const saved = holder.current
    try {
      return schedule.fire(now, (run) => {
        holder.current = punctuationContext(this.partition, now)
        run(now)
      })
    } finally {
      holder.current = saved
    }
  }

  #throwIfFaulted(): void {
    if (this.#fault !== undefined) throw this.#fault
  }

  #failWith(error: unknown, node?: string): unknown {
    if (this.#fault !== undefined) return this.#fault
    const context = this.#recordContext.current
    const where = context?.topic ? ` at ${context.topic}-${context.partition}@${context.offset}` : ''
    const fault =
      error instanceof TopologyError
        ? error
        : new TopologyError(
            'PROCESSING_FAILED',
            `task ${this.id}${node ? ` node ${node}` : ''}${where}: ${String(error)}`,
            {
              cause: error,
              taskId: this.id,
              ...(node === undefined ? {} : { subject: node }),
            },
          )
    this.#fault = fault
    const waiters = this.#idleWaiters
    this.#idleWaiters = []
    for (const w of waiters) w.reject(fault)
    return fault
  }

  #makeServices(): TaskServices {
    const options = this.#options
    return {
      applicationId: options.applicationId,
      taskId: this.id,
      partition: options.partition,
      recordContext: this.#recordContext,
      metrics: options.metrics ?? NO_METRICS,
      streamTime: () => this.#streamTime,
      systemTime: () => this.#clock(),
      store: (name) => this.#stores.get(name)?.store,
      schedule: (node, interval, type, run) => this.#schedule(node, interval, type, run),
      reportFault: (error, node) => {
        this.#failWith(error, node)
      },
      reportLate: (late) => {
        const current = this.#recordContext.current as Partial<InputRecord> | undefined
        if (current?.topic === undefined || options.collector.lateRecord === undefined) return
        options.collector.lateRecord(
          {
            topic: current.topic,
            partition: current.partition ?? this.partition,
            offset: current.offset ?? -1,
            timestamp: current.timestamp ?? -1,
            headers: current.headers ?? new Map(),
            key: current.key ?? null,
            value: current.value ?? null,
          },
          late,
        )
      },
      beginAsync: () => {
        this.#inFlight++
      },
      endAsync: () => {
        if (--this.#inFlight === 0 && this.#fault === undefined) {
          const waiters = this.#idleWaiters
          this.#idleWaiters = []
          for (const w of waiters) w.resolve()
        }
      },
    }
  }

  #schedule(node: string, interval: number, type: PunctuationType, run: Punctuator): Cancellable {
    if (type === 'stream-time') {
      return this.#streamPunctuation.schedule(
        node,
        interval,
        run,
        this.#streamTime < 0 ? Number.NaN : this.#streamTime,
      )
    }
    return this.#wallClockPunctuation.schedule(node, interval, run, this.#clock() + interval)
  }

  #buildStores(): void {
    const options = this.#options
    const sub = options.graph.subtopologies[options.subtopology]
    if (sub === undefined)
      throw new TopologyError('INVALID_ARGUMENT', `no sub-topology ${options.subtopology}`)
    const cacheMaxBytes = options.cacheMaxBytes ?? 10 * 1024 * 1024
    const env: StoreEnvironment = {
      applicationId: options.applicationId,
      taskId: this.id,
      partition: options.partition,
      collector: options.collector,
      recordContext: this.#recordContext,
      metrics: options.metrics ?? NO_METRICS,
      cacheMaxBytes,
      cacheBudget: new CacheBudget(cacheMaxBytes),
      ...(options.lmdb === undefined
        ? {}
        : { lmdb: options.lmdb, lmdbWindows: options.lmdbWindows === true }),
    }
    for (const name of sub.stores) {
      const spec = options.graph.stores.get(name)
      if (spec === undefined)
        throw new TopologyError('UNKNOWN_STORE', `no store ${name} in the topology`, { subject: name })
      this.#stores.set(name, buildStore(spec, env))
    }
  }
}

// Picks the builder of the store's kind; window and session specs carry their size and retention.
function buildStore(spec: StoreSpec, env: StoreEnvironment): BuiltStore {
  if (spec.kind === 'key-value') return buildKeyValueStore(spec, env)
  const retentionMs = spec.retentionMs
  if (retentionMs === undefined) {
    throw new TopologyError('INVALID_TOPOLOGY', `${spec.kind} store ${spec.name} has no retention`, {
      subject: spec.name,
    })
  }
  if (spec.kind === 'session') return buildSessionStore({ ...spec, kind: 'session', retentionMs }, env)
  const windowSizeMs = spec.windowSizeMs
  if (windowSizeMs === undefined) {
    throw new TopologyError('INVALID_TOPOLOGY', `window store ${spec.name} has no window size`, {
      subject: spec.name,
    })
  }
  return buildWindowStore({ ...spec, kind: 'window', retentionMs, windowSizeMs }, env)
}
