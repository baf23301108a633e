// The one metrics module: every Prometheus metric of the project is defined here, once per registry
// (prom-client refuses a name registered twice, and roles may share a process), and adapted to the
// engine's hook interfaces (topology/runtime/runtime-metrics.ts, topology/metrics.ts), which never
// import prom-client. Names carry the project's prefix; `kafka_consumergroup_lag*` belongs to the API's
// lag exporter alone and is never defined here. Labels stay bounded: topics, partitions of this
// application's inputs, store and processor names, error codes; never task ids or record keys.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { EngineMetrics, StoreOperation } from '../topology/metrics.js'
import type { RuntimeMetrics } from '../topology/runtime/runtime-metrics.js'

export { Registry }

export const METRIC_PREFIX = 'agent_party_streams_'

export interface MetricsOptions {
  /** Node process metrics (process_cpu_seconds_total, nodejs_heap_size_used_bytes, ...). Default false. */
  readonly defaultMetrics?: boolean
  /**
   * Time every state store operation (`engine.enabled`): one clock read and one histogram observation
   * per get/put/delete. Default false.
   */
  readonly storeOperations?: boolean
}

export interface Metrics {
  readonly registry: Registry
  /** For `StreamsConfig.metrics`. */
  readonly streams: RuntimeMetrics
  /** For `StreamsConfig.engineMetrics` (and the test driver's `metrics`). */
  readonly engine: EngineMetrics
  /** For the Agent Party topology's hooks. */
  readonly processor: ProcessorMetrics
  /** For the sink runner and the sink targets (sinks/). */
  readonly sinks: SinkMetrics
}

/** The sinks' instruments. `sink` is the target's name (neo4j, redis, archive). */
export interface SinkMetrics {
  /** Records a batch applied (each record once, when its batch is applied). */
  applied(sink: string, topic: string, records: number): void
  /** One batch applied: its duration and size. */
  batch(sink: string, durationMs: number, records: number): void
  /** An apply (or restart, tick) failed and will be retried, by failure kind (transient or data). */
  retry(sink: string, kind: string): void
  /** A record sent to the sink's dead-letter topic, by code. */
  deadLetter(sink: string, code: string): void
  /** Records behind the end a read_committed reader can reach, per partition this instance owns. */
  partitionLag(sink: string, topic: string, partition: number, lag: number): void
  /** The partitions of a sink moved: forget the lag of those no longer owned. */
  rebalanced(sink: string): void
  /** A Neo4j call failed to reach the server (operations guide: `neo4j_connection_failures_total`). */
  neo4jConnectionFailure(): void
  /** One Neo4j query or transaction (operations guide: `neo4j_query_duration_seconds`), by operation. */
  neo4jQuery(operation: string, durationMs: number): void
  /** The driver's connection pool: connections in use and idle. */
  neo4jPool(inUse: number, idle: number): void
  /** Archive objects uploaded and their records. */
  archiveUploaded(topic: string, records: number, bytes: number): void
}

export interface ProcessorMetrics {
  duplicate(topic: string): void
  dataQuality(reason: string): void
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const RESTORE_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]
/** Around the commit interval (100 ms by default), which bounds a record's wait for its transaction. */
const HANDOFF_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.125, 0.15, 0.2, 0.25, 0.5, 1, 2.5, 5]
const STORE_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5]

/** The instruments, created once per registry. */
class Instruments {
  readonly recordsConsumed: Counter<'topic'>
  readonly recordsProcessed: Counter
  readonly commitDuration: Histogram
  readonly handoff: Histogram
  readonly commits: Counter
  readonly commitRecords: Counter
  readonly transactionsAborted: Counter<'reason'>
  readonly restoreDuration: Histogram<'store'>
  readonly restoredRecords: Counter<'store'>
  readonly deadLetters: Counter<'code'>
  readonly lateRecords: Counter<'processor' | 'store'>
  readonly droppedRecords: Counter<'processor' | 'reason'>
  readonly badRecords: Counter<'code' | 'response'>
  readonly tasks: Gauge
  readonly producerThreadHeap: Gauge<'kind'>
  readonly storeEntries: Gauge<'store'>
  readonly storeBytes: Gauge<'store'>
  readonly partitionLag: Gauge<'topic' | 'partition'>
  readonly rebalancePause: Histogram
  readonly storeOperation: Histogram<'store' | 'operation'>
  readonly duplicates: Counter<'topic'>
  readonly dataQuality: Counter<'reason'>
  readonly sinkApplied: Counter<'sink' | 'topic'>
  readonly sinkBatch: Histogram<'sink'>
  readonly sinkBatchRecords: Histogram<'sink'>
  readonly sinkRetries: Counter<'sink' | 'kind'>
  readonly sinkDeadLetters: Counter<'sink' | 'code'>
  readonly sinkLag: Gauge<'sink' | 'topic' | 'partition'>
  readonly neo4jConnectionFailures: Counter
  readonly neo4jQueryDuration: Histogram<'operation'>
  readonly neo4jPool: Gauge<'state'>
  readonly archiveObjects: Counter<'topic'>
  readonly archiveRecords: Counter<'topic'>
  readonly archiveBytes: Counter<'topic'>
  defaultMetrics = false

  constructor(readonly registry: Registry) {
    const registers = [registry]
    const name = (n: string) => `${METRIC_PREFIX}${n}`
    this.recordsConsumed = new Counter({
      name: name('records_consumed_total'),
      help: 'Records read from a source topic and processed, counted when their offsets commit.',
      labelNames: ['topic'],
      registers,
    })
    this.recordsProcessed = new Counter({
      name: name('records_processed_total'),
      help: 'Records the tasks of this instance processed.',
      registers,
    })
    this.commitDuration = new Histogram({
      name: name('commit_duration_seconds'),
      help: 'Duration of one commit (a transaction, or an offset commit with at_least_once).',
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.handoff = new Histogram({
      name: name('record_handoff_seconds'),
      help:
        'Time from the fetch response that brought a record to the moment its results are handed to the ' +
        'transaction (the end of its round, or the next commit while one is in flight), one observation per record.',
      buckets: HANDOFF_BUCKETS,
      registers,
    })
    this.commits = new Counter({
      name: name('commits_total'),
      help: 'Successful commits.',
      registers,
    })
    this.commitRecords = new Counter({
      name: name('committed_records_total'),
      help: 'Records (output, changelog, dead letters) written by successful commits.',
      registers,
    })
    this.transactionsAborted = new Counter({
      name: name('transactions_aborted_total'),
      help: 'Commits that failed and were aborted, by reason (PRODUCER_FENCED, TASK_MIGRATED, COMMIT_FAILED).',
      labelNames: ['reason'],
      registers,
    })
    this.restoreDuration = new Histogram({
      name: name('restore_duration_seconds'),
      help: 'Time to restore a store of a task from its changelog on assignment.',
      labelNames: ['store'],
      buckets: RESTORE_BUCKETS,
      registers,
    })
    this.restoredRecords = new Counter({
      name: name('restored_records_total'),
      help: 'Changelog records replayed into a store on assignment.',
      labelNames: ['store'],
      registers,
    })
    this.deadLetters = new Counter({
      name: name('dead_letters_total'),
      help: 'Records sent to the dead-letter topic, by error code.',
      labelNames: ['code'],
      registers,
    })
    this.lateRecords = new Counter({
      name: name('late_records_total'),
      help: 'Records a windowed aggregate dropped as too late (past the window close), by processor and store.',
      labelNames: ['processor', 'store'],
      registers,
    })
    this.droppedRecords = new Counter({
      name: name('dropped_records_total'),
      help: 'Records a join dropped for a null key or value, by processor and reason.',
      labelNames: ['processor', 'reason'],
      registers,
    })
    this.badRecords = new Counter({
      name: name('bad_records_total'),
      help: 'Records an exception handler diverted, by error code and response (dead-letter or continue).',
      labelNames: ['code', 'response'],
      registers,
    })
    this.tasks = new Gauge({
      name: name('tasks'),
      help: 'Tasks this instance runs.',
      registers,
    })
    this.producerThreadHeap = new Gauge({
      name: name('producer_thread_heap_bytes'),
      help:
        "The exactly-once producer thread's V8 heap (producerThread), sampled every 5 s: kind used " +
        '(live and not yet collected) and total (reserved). Not in nodejs_heap_size_*, which are the main ' +
        "thread's.",
      labelNames: ['kind'],
      registers,
    })
    this.storeEntries = new Gauge({
      name: name('state_store_entries'),
      help: "Entries in each state store, over this instance's tasks, sampled every 5 s.",
      labelNames: ['store'],
      registers,
    })
    this.storeBytes = new Gauge({
      name: name('state_store_bytes'),
      help:
        "Estimated memory each state store holds, over this instance's tasks, sampled every 5 s: its " +
        'arrays and serialized values exactly, map entries and keys estimated from a sample (for a ' +
        'store in LMDB, its writes waiting for the next commit only).',
      labelNames: ['store'],
      registers,
    })
    this.partitionLag = new Gauge({
      name: name('partition_lag'),
      help:
        'Records behind the log end of each input partition this instance owns, as of its last fetch ' +
        '(cleared at each rebalance).',
      labelNames: ['topic', 'partition'],
      registers,
    })
    this.rebalancePause = new Histogram({
      name: name('rebalance_pause_seconds'),
      help: 'How long processing stopped for a rebalance.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    })
    this.storeOperation = new Histogram({
      name: name('store_operation_duration_seconds'),
      help: 'Duration of state store operations (only when store operation timing is enabled).',
      labelNames: ['store', 'operation'],
      buckets: STORE_BUCKETS,
      registers,
    })
    this.duplicates = new Counter({
      name: name('duplicate_events_total'),
      help: 'Events the Agent Party topology dropped as a second copy of an event id seen within the horizon.',
      labelNames: ['topic'],
      registers,
    })
    this.dataQuality = new Counter({
      name: name('data_quality_findings_total'),
      help: "Events breaking the platform's rules, sent to the data-quality topic, by reason.",
      labelNames: ['reason'],
      registers,
    })
    this.sinkApplied = new Counter({
      name: name('sink_records_applied_total'),
      help: 'Records a sink applied to its target (Neo4j, Redis, the archive), by sink and topic.',
      labelNames: ['sink', 'topic'],
      registers,
    })
    this.sinkBatch = new Histogram({
      name: name('sink_batch_duration_seconds'),
      help: 'Time to apply one batch to the target, offsets included.',
      labelNames: ['sink'],
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.sinkBatchRecords = new Histogram({
      name: name('sink_batch_records'),
      help: 'Records in one applied batch.',
      labelNames: ['sink'],
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers,
    })
    this.sinkRetries = new Counter({
      name: name('sink_retries_total'),
      help: 'Failed applies that the sink retries (transient: target down or busy; data: a batch split to find a poison record).',
      labelNames: ['sink', 'kind'],
      registers,
    })
    this.sinkDeadLetters = new Counter({
      name: name('sink_dead_letters_total'),
      help: 'Records a sink sent to its dead-letter topic, by code.',
      labelNames: ['sink', 'code'],
      registers,
    })
    this.sinkLag = new Gauge({
      name: name('sink_partition_lag'),
      help: 'Records a sink is behind the end of each partition it owns, as of its last fetch (cleared at each rebalance).',
      labelNames: ['sink', 'topic', 'partition'],
      registers,
    })
    // The operations guide's names, without the project's prefix (its alert and dashboard use them).
    this.neo4jConnectionFailures = new Counter({
      name: 'neo4j_connection_failures_total',
      help: 'Neo4j calls that failed to reach the server (service unavailable, session expired, connection refused).',
      registers,
    })
    this.neo4jQueryDuration = new Histogram({
      name: 'neo4j_query_duration_seconds',
      help: 'Neo4j query and transaction execution time, by operation.',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS,
      registers,
    })
    this.neo4jPool = new Gauge({
      name: name('neo4j_pool_connections'),
      help: "Connections of the Neo4j driver's pool, by state (in_use, idle).",
      labelNames: ['state'],
      registers,
    })
    this.archiveObjects = new Counter({
      name: name('archive_objects_total'),
      help: 'Archive objects (one offset range of one partition) uploaded and recorded in their manifest.',
      labelNames: ['topic'],
      registers,
    })
    this.archiveRecords = new Counter({
      name: name('archive_records_total'),
      help: 'Records in the archive objects uploaded.',
      labelNames: ['topic'],
      registers,
    })
    this.archiveBytes = new Counter({
      name: name('archive_bytes_total'),
      help: 'Bytes of the archive objects uploaded.',
      labelNames: ['topic'],
      registers,
    })
  }
}

// A registry holds one set of instruments: a second createMetrics on it shares them instead of failing.
const byRegistry = new WeakMap<Registry, Instruments>()

/**
 * Defines the project's metrics on `registry` (once: later calls with the same registry reuse them) and
 * returns adapters for the engine's hooks.
 */
export function createMetrics(registry: Registry = new Registry(), options: MetricsOptions = {}): Metrics {
  let m = byRegistry.get(registry)
  if (m === undefined) {
    m = new Instruments(registry)
    byRegistry.set(registry, m)
  }
  if (options.defaultMetrics === true && !m.defaultMetrics) {
    collectDefaultMetrics({ register: registry })
    m.defaultMetrics = true
  }
  const instruments = m
  return {
    registry,
    streams: streamsMetrics(m),
    engine: engineMetrics(m, options.storeOperations === true),
    processor: {
      duplicate: (topic) => instruments.duplicates.inc({ topic }),
      dataQuality: (reason) => instruments.dataQuality.inc({ reason }),
    },
    sinks: sinkMetrics(m),
  }
}

function sinkMetrics(m: Instruments): SinkMetrics {
  // prom-client removes a series only by its full label set: remember each sink's partitions.
  const lagSeries = new Map<string, Map<string, { topic: string; partition: string }>>()
  return {
    applied: (sink, topic, records) => {
      if (records > 0) m.sinkApplied.inc({ sink, topic }, records)
    },
    batch: (sink, durationMs, records) => {
      m.sinkBatch.observe({ sink }, durationMs / 1000)
      m.sinkBatchRecords.observe({ sink }, records)
    },
    retry: (sink, kind) => m.sinkRetries.inc({ sink, kind }),
    deadLetter: (sink, code) => m.sinkDeadLetters.inc({ sink, code }),
    partitionLag: (sink, topic, partition, lag) => {
      const series = lagSeries.get(sink) ?? lagSeries.set(sink, new Map()).get(sink)
      series?.set(`${topic}\u0000${partition}`, { topic, partition: String(partition) })
      m.sinkLag.set({ sink, topic, partition: String(partition) }, lag)
    },
    rebalanced: (sink) => {
      for (const labels of lagSeries.get(sink)?.values() ?? []) m.sinkLag.remove({ sink, ...labels })
      lagSeries.delete(sink)
    },
    neo4jConnectionFailure: () => m.neo4jConnectionFailures.inc(),
    neo4jQuery: (operation, durationMs) => m.neo4jQueryDuration.observe({ operation }, durationMs / 1000),
    neo4jPool: (inUse, idle) => {
      m.neo4jPool.set({ state: 'in_use' }, inUse)
      m.neo4jPool.set({ state: 'idle' }, idle)
    },
    archiveUploaded: (topic, records, bytes) => {
      m.archiveObjects.inc({ topic })
      m.archiveRecords.inc({ topic }, records)
      m.archiveBytes.inc({ topic }, bytes)
    },
  }
}

function streamsMetrics(m: Instruments): RuntimeMetrics {
  return {
    recordsConsumed: (topic, count) => {
      if (count > 0) m.recordsConsumed.inc({ topic }, count)
    },
    commit: (durationMs, records) => {
      m.commitDuration.observe(durationMs / 1000)
      m.commits.inc()
      if (records > 0) m.commitRecords.inc(records)
    },
    handedToTransaction: (fetchedAtMs, records) => {
      const seconds = (performance.now() - fetchedAtMs) / 1000
      for (let i = 0; i < records; i++) m.handoff.observe(seconds)
    },
    transactionAborted: (reason) => m.transactionsAborted.inc({ reason }),
    restored: (store, records, durationMs) => {
      m.restoreDuration.observe({ store }, durationMs / 1000)
      m.restoredRecords.inc({ store }, Math.max(0, records))
    },
    deadLetter: (code) => m.deadLetters.inc({ code }),
    tasks: (count) => m.tasks.set(count),
    producerThreadHeap: (used, total) => {
      m.producerThreadHeap.set({ kind: 'used' }, used)
      m.producerThreadHeap.set({ kind: 'total' }, total)
    },
    stores: (sizes) => {
      // A store whose tasks all moved away reports nothing: its series go rather than stay stale.
      m.storeEntries.reset()
      m.storeBytes.reset()
      for (const s of sizes) {
        m.storeEntries.set({ store: s.store }, s.entries)
        m.storeBytes.set({ store: s.store }, s.bytes)
      }
    },
    partitionLag: (topic, partition, lag) => m.partitionLag.set({ topic, partition: String(partition) }, lag),
    rebalance: (pauseMs) => {
      m.rebalancePause.observe(pauseMs / 1000)
      // The assignment changed: partitions this instance no longer owns must not keep a stale lag.
      m.partitionLag.reset()
    },
  }
}

function engineMetrics(m: Instruments, enabled: boolean): EngineMetrics {
  return {
    enabled,
    storeOperation: (store: string, operation: StoreOperation, durationMs: number) => {
      if (enabled) m.storeOperation.observe({ store, operation }, durationMs / 1000)
    },
    recordsProcessed: (_taskId, count) => {
      if (count > 0) m.recordsProcessed.inc(count)
    },
    badRecord: (_taskId, code, response) => m.badRecords.inc({ code, response }),
    lateRecord: (_taskId, processor, store) => m.lateRecords.inc({ processor, store }),
    droppedRecord: (_taskId, processor, reason) => m.droppedRecords.inc({ processor, reason }),
  }
}
