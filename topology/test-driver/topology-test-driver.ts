// Runs a topology with no broker: one task per sub-topology (partition 0 of every topic), a mock
// wall clock, records piped in through serdes, and what the topology produces kept per topic. Records
// sent to a topic the topology reads (repartition topics) are routed back in memory. By default it
// commits after each piped record (flushing caches), like Kafka Streams' driver; with
// `autoCommit: false` the caches hold updates until commit(), to test caching effects.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TopologyError } from '../errors.js'
import type { InputRecord } from '../internals/runtime/input-record.js'
import {
  BufferingRecordCollector,
  type DeadLetter,
  type LateLetter,
  type ProducerRecord,
} from '../internals/runtime/record-collector.js'
import { StreamTask } from '../internals/runtime/stream-task.js'
import type { ChangelogRecord } from '../internals/state/build-key-value-store.js'
import { LmdbStores } from '../internals/state/lmdb-key-value-store.js'
import type { EngineMetrics } from '../metrics.js'
import type { DeserializationExceptionHandler, ProcessingExceptionHandler } from '../record-handlers.js'
import type { Serde } from '../serdes.js'
import { isStateStoreType, type KeyValueStore, type StateStoreType } from '../state-store.js'
import type { Headers } from '../stream-record.js'
import type { Topology } from '../topology.js'
import type { SessionStore, WindowStore } from '../windows/window-store.js'
import { type InputSink, type InputTopicOptions, TestInputTopic } from './test-input-topic.js'
import { type OutputSource, TestOutputTopic } from './test-output-topic.js'

export interface TopologyTestDriverOptions {
  /** Prefix of repartition and changelog topics. Default `test-app`. */
  readonly applicationId?: string
  readonly initialWallClockTimeMs?: number
  /** Commit (flush caches) after each piped record and each wall-clock advance. Default true. */
  readonly autoCommit?: boolean
  /** Byte budget the caching stores of a task share; 0 disables caching. Default 10 MiB. */
  readonly cacheMaxBytes?: number
  readonly metrics?: EngineMetrics
  /** A record that does not deserialize or has an invalid timestamp. Default 'dead-letter'. */
  readonly deserializationExceptionHandler?: DeserializationExceptionHandler
  /** An error a processor throws while processing a record. Default 'fail'. */
  readonly processingExceptionHandler?: ProcessingExceptionHandler
  /** How long a task with several input topics waits for an empty one (by the mock clock). Default 0. */
  readonly maxTaskIdleMs?: number
  /**
   * Also write each dead letter to this topic (raw key, value and timestamp; its headers plus
   * `dead-letter.code`, `dead-letter.reason` and `dead-letter.source.{topic,partition,offset}`), to be
   * read with createOutputTopic(). readDeadLetters() works either way.
   */
  readonly deadLetterTopic?: string
  /**
   * Changelog records to restore the stores from before processing starts, by changelog topic: the
   * driver then behaves as a task that moved to a new instance. Read them from another driver with
   * `createOutputTopic(topic, Serdes.Buffer(), Serdes.Buffer()).readKeyValuesToList()`.
   */
  readonly changelogs?: Readonly<Record<string, readonly ChangelogRecord[]>>
  /**
   * Where the key-value stores with key and value serdes keep their entries, as the runtime's stateStore setting.
   * Default 'memory'; 'lmdb' uses a fresh directory under the OS's temporary one, deleted by close().
   */
  readonly stateStore?: StateStoreType
  /** With stateStore 'lmdb': window and session stores in LMDB too, as the runtime's windowStateStore. */
  readonly windowStateStore?: StateStoreType
}

// A topology whose output feeds itself forever is a bug; stop instead of spinning.
const MAX_ROUNDS = 100_000

export class TopologyTestDriver implements InputSink, OutputSource {
  readonly applicationId: string
  readonly #tasks: StreamTask[] = []
  readonly #collectors = new Map<StreamTask, BufferingRecordCollector>()
  readonly #readers = new Map<string, StreamTask>()
  readonly #outputs = new Map<string, { records: ProducerRecord[]; head: number }>()
  readonly #nextOffset = new Map<string, number>()
  readonly #autoCommit: boolean
  readonly #deadLetterTopic: string | undefined
  #deadLetters: DeadLetter[] = []
  #lateRecords: LateLetter[] = []
  #wallClock: number
  readonly #lmdb: LmdbStores | undefined

  constructor(topology: Topology, options: TopologyTestDriverOptions = {}) {
    this.applicationId = options.applicationId ?? 'test-app'
    const stateStore = options.stateStore ?? 'memory'
    if (!isStateStoreType(stateStore)) {
      throw new TopologyError(
        'INVALID_ARGUMENT',
        `stateStore: got ${JSON.stringify(stateStore)}, expected 'memory' or 'lmdb'`,
        {
          subject: 'stateStore',
        },
      )
    }
    const windowStateStore = options.windowStateStore ?? 'memory'
    if (!isStateStoreType(windowStateStore) || (windowStateStore === 'lmdb' && stateStore !== 'lmdb')) {
      throw new TopologyError(
        'INVALID_ARGUMENT',
        `windowStateStore: got ${JSON.stringify(windowStateStore)}, expected 'memory', or 'lmdb' with stateStore 'lmdb'`,
        { subject: 'windowStateStore' },
      )
    }
    this.#lmdb =
      stateStore === 'lmdb' ? new LmdbStores(mkdtempSync(join(tmpdir(), 'topology-test-driver-'))) : undefined
    this.#autoCommit = options.autoCommit ?? true
    this.#wallClock = options.initialWallClockTimeMs ?? 0
    this.#deadLetterTopic = options.deadLetterTopic
    for (const sub of topology.graph.subtopologies) {
      const collector = new BufferingRecordCollector()
      const task = new StreamTask({
        graph: topology.graph,
        subtopology: sub.id,
        partition: 0,
        applicationId: this.applicationId,
        collector,
        clock: () => this.#wallClock,
        ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
        ...(options.cacheMaxBytes === undefined ? {} : { cacheMaxBytes: options.cacheMaxBytes }),
        ...(options.maxTaskIdleMs === undefined ? {} : { maxTaskIdleMs: options.maxTaskIdleMs }),
        ...(this.#lmdb === undefined ? {} : { lmdb: this.#lmdb, lmdbWindows: windowStateStore === 'lmdb' }),
        ...(options.deserializationExceptionHandler === undefined
          ? {}
          : { deserializationExceptionHandler: options.deserializationExceptionHandler }),
        ...(options.processingExceptionHandler === undefined
          ? {}
          : { processingExceptionHandler: options.processingExceptionHandler }),
      })
      for (const changelog of task.initializeStores()) {
        const records = options.changelogs?.[changelog.topic]
        if (records !== undefined) task.restore(changelog.store, records)
      }
      task.completeRestoration()
      this.#tasks.push(task)
      this.#collectors.set(task, collector)
      for (const topic of task.sourceTopics()) this.#readers.set(topic, task)
    }
  }

  createInputTopic<K, V>(
    topic: string,
    keySerde: Serde<K>,
    valueSerde: Serde<V>,
    options: InputTopicOptions = {},
  ): TestInputTopic<K, V> {
    if (!this.#readers.has(topic)) {
      throw new TopologyError(
        'UNKNOWN_TOPIC',
        `no source reads ${topic}; the topology reads [${[...this.#readers.keys()].join(', ')}]`,
        {
          subject: topic,
        },
      )
    }
    return new TestInputTopic(this, topic, keySerde, valueSerde, options)
  }

  createOutputTopic<K, V>(topic: string, keySerde: Serde<K>, valueSerde: Serde<V>): TestOutputTopic<K, V> {
    return new TestOutputTopic(this, topic, keySerde, valueSerde)
  }

  /** @internal Used by TestInputTopic. */
  pipe(topic: string, key: Buffer | null, value: Buffer | null, timestamp: number, headers: Headers): void {
    const task = this.#readers.get(topic)
    if (task === undefined)
      throw new TopologyError('UNKNOWN_TOPIC', `no source reads ${topic}`, { subject: topic })
    this.#deliver(task, topic, key, value, timestamp, headers)
    this.#settle(this.#autoCommit)
  }

  advanceWallClockTime(ms: number): void {
    if (!(ms >= 0))
      throw new TopologyError(
        'INVALID_ARGUMENT',
        `advanceWallClockTime needs a non-negative duration, got ${ms}`,
      )
    this.#wallClock += ms
    for (const task of this.#tasks) task.punctuateWallClock(this.#wallClock)
    this.#settle(this.#autoCommit)
  }

  /** Flushes every cache and commits; throws COMMIT_IN_FLIGHT while async work is pending (see whenIdle). */
  commit(): void {
    this.#settle(true)
  }

  /** Waits for every asynchronous operator, routes what they produced, then commits when autoCommit is on. */
  async whenIdle(): Promise<void> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      await Promise.all(this.#tasks.map((t) => t.whenIdle()))
      this.#settle(this.#autoCommit)
      if (this.#tasks.every((t) => t.inFlight === 0)) return
    }
  }

  getKeyValueStore<K, V>(name: string): KeyValueStore<K, V> {
    return this.#store(name) as KeyValueStore<K, V>
  }

  /** The window store of a time-windowed aggregation; its values are ValueAndTimestamp of the aggregate. */
  getWindowStore<K, V>(name: string): WindowStore<K, V> {
    return this.#store(name) as WindowStore<K, V>
  }

  getSessionStore<K, V>(name: string): SessionStore<K, V> {
    return this.#store(name) as SessionStore<K, V>
  }

  #store(name: string): unknown {
    for (const task of this.#tasks) {
      const store = task.getStore(name)
      if (store !== undefined) return store
    }
    throw new TopologyError('UNKNOWN_STORE', `the topology has no store named ${name}`, { subject: name })
  }

  /** The records diverted to the dead-letter output since the last call, oldest first (reading consumes). */
  readDeadLetters(): DeadLetter[] {
    const out = this.#deadLetters
    this.#deadLetters = []
    return out
  }

  /**
   * The records windowed aggregates found too late since the last call, as read, with why (what the
   * Kafka runtime writes to its `<applicationId>-late` topic). Reading consumes.
   */
  readLateRecords(): LateLetter[] {
    const out = this.#lateRecords
    this.#lateRecords = []
    return out
  }

  /** Every topic something was produced to, including repartition and changelog topics. */
  producedTopicNames(): string[] {
    return [...this.#outputs.keys()]
  }

  /** @internal Used by TestOutputTopic. */
  take(topic: string): ProducerRecord | undefined {
    const queue = this.#outputs.get(topic)
    if (queue === undefined || queue.head >= queue.records.length) return undefined
    return queue.records[queue.head++]
  }

  /** @internal Used by TestOutputTopic. */
  size(topic: string): number {
    const queue = this.#outputs.get(topic)
    return queue === undefined ? 0 : queue.records.length - queue.head
  }

  close(): void {
    for (const task of this.#tasks) {
      if (task.state === 'RUNNING') task.suspend()
      if (task.state !== 'CLOSED') task.close()
    }
    this.#lmdb?.close()
  }

  #deliver(
    task: StreamTask,
    topic: string,
    key: Buffer | null,
    value: Buffer | null,
    timestamp: number,
    headers: Headers,
  ): void {
    const offset = this.#nextOffset.get(topic) ?? 0
    this.#nextOffset.set(topic, offset + 1)
    const record: InputRecord = { topic, partition: 0, offset, timestamp, key, value, headers }
    task.addRecords(topic, 0, [record])
  }

  // Process, route what was produced, and (when committing) flush caches, until nothing moves.
  #settle(commit: boolean): void {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      let moved = 0
      for (const task of this.#tasks) moved += task.process()
      moved += this.#route()
      if (moved > 0) continue
      if (commit && this.#tasks.every((t) => t.inFlight === 0)) {
        for (const task of this.#tasks) {
          task.prepareCommit()
          task.postCommit()
        }
        if (this.#route() > 0) continue
      }
      return
    }
    throw new TopologyError(
      'INVALID_TOPOLOGY',
      `records kept flowing after ${MAX_ROUNDS} rounds: does an output feed its own input?`,
    )
  }

  #route(): number {
    let routed = 0
    for (const [, collector] of this.#collectors) {
      if (collector.deadLetterCount > 0) this.#takeDeadLetters(collector)
      if (collector.lateRecordCount > 0) this.#lateRecords.push(...collector.drainLateRecords())
      if (collector.size === 0) continue
      for (const record of collector.drain()) {
        this.#output(record)
        const reader = this.#readers.get(record.topic)
        if (reader !== undefined) {
          this.#deliver(reader, record.topic, record.key, record.value, record.timestamp, record.headers)
          routed++
        }
      }
    }
    return routed
  }

  #takeDeadLetters(collector: BufferingRecordCollector): void {
    for (const letter of collector.drainDeadLetters()) {
      this.#deadLetters.push(letter)
      if (this.#deadLetterTopic !== undefined) this.#output(deadLetterRecord(this.#deadLetterTopic, letter))
    }
  }

  #output(record: ProducerRecord): void {
    const queue =
      this.#outputs.get(record.topic) ??
      this.#outputs.set(record.topic, { records: [], head: 0 }).get(record.topic)
    queue?.records.push(record)
  }
}

function deadLetterRecord(topic: string, { record, cause }: DeadLetter): ProducerRecord {
  const headers = new Map(record.headers)
  headers.set('dead-letter.code', Buffer.from(cause.code))
  headers.set('dead-letter.reason', Buffer.from(cause.reason))
  headers.set('dead-letter.source.topic', Buffer.from(record.topic))
  headers.set('dead-letter.source.partition', Buffer.from(String(record.partition)))
  headers.set('dead-letter.source.offset', Buffer.from(String(record.offset)))
  return {
    topic,
    partition: undefined,
    key: record.key,
    value: record.value,
    timestamp: record.timestamp,
    headers,
  }
}
