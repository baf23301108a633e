// The configuration of a KafkaStreams instance, with Kafka Streams' names and defaults where they
// apply, validated at construction: each bad value fails with INVALID_CONFIG naming the setting, what
// was given and what is expected.
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { KafkaConfig } from '../../kafka/clients.js'
import { TopologyError } from '../errors.js'
import type { EngineMetrics } from '../metrics.js'
import type { DeserializationExceptionHandler, ProcessingExceptionHandler } from '../record-handlers.js'
import { isStateStoreType, type StateStoreType } from '../state-store.js'
import type { RuntimeMetrics } from './runtime-metrics.js'

export type ProcessingGuarantee = 'exactly_once' | 'at_least_once'

/** The group protocol: Kafka's classic one, or KIP-848's `consumer` protocol (at-least-once only). */
export type GroupProtocol = 'classic' | 'consumer'

export interface StreamsConfig {
  /** The consumer group id and the prefix of every internal topic. */
  readonly applicationId: string
  readonly bootstrapServers: readonly string[]
  /** SASL and TLS for every client of the runtime (from KAFKA_SECURITY_PROTOCOL etc.); none by default. */
  readonly connection?: Pick<KafkaConfig, 'sasl' | 'tls'>
  /** Default `exactly_once`: output, changelog records and offsets commit in one transaction. */
  readonly processingGuarantee?: ProcessingGuarantee
  /**
   * Default `classic` (with the runtime's co-partitioning assignor). `consumer` (KIP-848: incremental,
   * no stop-the-world rebalance, the broker's `range` assignor) works with `at_least_once` only: the
   * client commits transactional offsets with the classic generation, which this protocol rejects.
   */
  readonly groupProtocol?: GroupProtocol
  /** How often tasks commit. Default 100 ms. */
  readonly commitIntervalMs?: number
  /**
   * Holds each instance's identity and lock (and its LMDB files with stateStore 'lmdb'). Default
   * `<os tmpdir>/agent-party-streams`.
   */
  readonly stateDir?: string
  /**
   * Where the key-value stores with key and value serdes (every table and table aggregate of the DSL,
   * and the stores added with those serdes) keep their entries; windowStateStore says the same of the
   * window and session stores. Default 'memory'. 'lmdb' keeps them in LMDB files under
   * `<stateDir>/<applicationId>/lmdb`, in the page cache, which the kernel can evict, instead of the
   * process's heap: for tables larger than the process should hold, at some CPU per access. A clean
   * close() leaves the files with a checkpoint of the changelog offsets they cover, and the next start
   * restores only what the changelogs hold past it; after a crash (no checkpoint) the files are wiped
   * and every store restores its whole changelog, about three times slower per record than into memory
   * (bench/RESULTS.md, Restore).
   */
  readonly stateStore?: StateStoreType
  /**
   * With stateStore 'lmdb': whether window and session stores are in LMDB too ('lmdb'), or stay in
   * memory (the default). Experimental: a 1M-entity replay failed once after 20 min inside lmdb-js
   * (MDB_BAD_TXN in its free-page list, at a session store's commit), which the key-value stores alone
   * have not shown (bench/RESULTS.md, R19).
   */
  readonly windowStateStore?: StateStoreType
  /**
   * A stable identity for this instance (a Kubernetes pod name): the group instance id (static
   * membership) and the transactional id derive from it. Default: an id kept in the state directory.
   */
  readonly instanceId?: string
  /** Replication factor of the internal topics. Default 1 (a single local broker). */
  readonly replicationFactor?: number
  /** Default 10 s: how long the group waits for a silent instance. */
  readonly sessionTimeoutMs?: number
  /** Default 1 s. */
  readonly heartbeatIntervalMs?: number
  /** Default 30 s: how long a rebalance waits for members to rejoin. */
  readonly rebalanceTimeoutMs?: number
  /** Default 10 s (Kafka Streams' exactly-once default): an open transaction older than this is aborted. */
  readonly transactionTimeoutMs?: number
  /**
   * Records one transaction holds at most (results, changelogs, repartition records): past it, a round
   * stops processing and the commit follows. A fetched backlog of 200k events through a topology that
   * writes ten records per event would otherwise make one transaction of millions of records, outlast
   * transactionTimeoutMs and be fenced (P8). Default 100,000. Larger transactions mean fewer commits, and caches keep only
   * the last of more updates, at the cost of longer commits.
   */
  readonly maxTransactionRecords?: number
  /**
   * Exactly-once only. Default true: the transactional producer runs on a worker thread, so that
   * building the produce requests (record encoding, CRCs, buffer copies: a fifth of the processing
   * thread's time on a topology that writes four records per input event) overlaps processing instead
   * of taking turns with it. The processing thread packs each batch of records into one buffer and
   * hands it over without a copy. false keeps the producer on the processing thread (one thread less;
   * on a single core there is nothing to overlap with).
   */
  readonly producerThread?: boolean
  /** Records buffered per input partition before fetching pauses for it. Default 1,000 (Kafka Streams'). */
  readonly maxBufferedRecordsPerPartition?: number
  /** Byte budget of each task's record caches. Default 10 MiB. */
  readonly cacheMaxBytes?: number
  /** Default 0. */
  readonly maxTaskIdleMs?: number
  /**
   * Keeps the instances of the application within `maxDriftMs` of each other in event time (off by
   * default). Replaying a backlog with several instances, one with lighter partitions otherwise runs
   * ahead, and a windowed aggregate behind a repartition topic they both write drops the slower one's
   * records as late once the drift passes its grace. Each instance reports the earliest event time it
   * has yet to process (to `<applicationId>-event-time`, each time it moves, at most every
   * `intervalMs`, default 50) and holds records later than the group's earliest plus `maxDriftMs`.
   * An instance's low also counts what it processed but has not committed yet (its results reach a
   * repartition's readers only with the commit). Give `maxDriftMs` less than the smallest grace behind
   * a repartition minus how far out of order the input comes; a small drift slows a replay by several
   * instances (each moves up to the others' last committed point plus the drift). Every instance of the
   * group must set it (one that does not holds the others for sessionTimeoutMs after each rebalance);
   * an instance that restores holds the others until it runs. Classic group protocol only.
   */
  readonly eventTimeAlignment?: { readonly maxDriftMs: number; readonly intervalMs?: number }
  /** A record that does not deserialize (or has a bad timestamp). Default 'dead-letter'. */
  readonly deserializationExceptionHandler?: DeserializationExceptionHandler
  /** An error user code throws while processing a record. Default 'dead-letter' (the engine's is 'fail'). */
  readonly processingExceptionHandler?: ProcessingExceptionHandler
  /** Where dead letters go. Default `<applicationId>-dlq`. */
  readonly deadLetterTopic?: string
  /** Where records too late for a windowed aggregate go. Default `<applicationId>-late`. */
  readonly lateRecordTopic?: string
  /** Where the repartition topics are purged up to the committed offset. Default 30 s. */
  readonly repartitionPurgeIntervalMs?: number
  /** When there is no committed offset. Default earliest (Kafka Streams' default). */
  readonly autoOffsetReset?: 'earliest' | 'latest'
  readonly clientId?: string
  readonly logger?: Logger
  /** Store-level hooks of the engine. */
  readonly engineMetrics?: EngineMetrics
  /** Runtime hooks (prom-client in config/metrics.ts adapts to them). */
  readonly metrics?: RuntimeMetrics
  /**
   * Fault injection for tests: called at-least-once after the records of a commit were produced and
   * before the offsets are committed, with the number of records. Not for production use.
   */
  readonly onBeforeOffsetCommit?: (records: number) => void
}

export interface ResolvedStreamsConfig
  extends Required<
    Omit<
      StreamsConfig,
      | 'connection'
      | 'instanceId'
      | 'logger'
      | 'engineMetrics'
      | 'metrics'
      | 'deserializationExceptionHandler'
      | 'processingExceptionHandler'
      | 'onBeforeOffsetCommit'
      | 'eventTimeAlignment'
    >
  > {
  readonly eventTimeAlignment: { readonly maxDriftMs: number; readonly intervalMs: number } | undefined
  readonly onBeforeOffsetCommit: ((records: number) => void) | undefined
  readonly connection: Pick<KafkaConfig, 'sasl' | 'tls'>
  readonly instanceId: string | undefined
  readonly logger: Logger | undefined
  readonly engineMetrics: EngineMetrics | undefined
  readonly metrics: RuntimeMetrics | undefined
  readonly deserializationExceptionHandler: DeserializationExceptionHandler | undefined
  readonly processingExceptionHandler: ProcessingExceptionHandler | undefined
}

const NAME = /^[A-Za-z0-9._-]{1,200}$/

function invalid(setting: string, given: unknown, expected: string): never {
  throw new TopologyError(
    'INVALID_CONFIG',
    `${setting}: got ${JSON.stringify(given)}, expected ${expected}`,
    {
      subject: setting,
    },
  )
}

function positiveInteger(setting: string, value: number | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < min) invalid(setting, value, `an integer >= ${min}`)
  return value
}

export function resolveStreamsConfig(config: StreamsConfig): ResolvedStreamsConfig {
  if (typeof config.applicationId !== 'string' || !NAME.test(config.applicationId)) {
    invalid('applicationId', config.applicationId, "1-200 characters of letters, digits, '.', '_' or '-'")
  }
  if (!Array.isArray(config.bootstrapServers) || config.bootstrapServers.length === 0) {
    invalid('bootstrapServers', config.bootstrapServers, 'a non-empty list of host:port')
  }
  for (const server of config.bootstrapServers) {
    if (!/^[^:\s]+:\d{1,5}$/.test(server)) invalid('bootstrapServers', server, 'host:port')
  }
  const guarantee = config.processingGuarantee ?? 'exactly_once'
  if (guarantee !== 'exactly_once' && guarantee !== 'at_least_once') {
    invalid('processingGuarantee', guarantee, "'exactly_once' or 'at_least_once'")
  }
  if (config.instanceId !== undefined && !NAME.test(config.instanceId)) {
    invalid('instanceId', config.instanceId, "1-200 characters of letters, digits, '.', '_' or '-'")
  }
  const sessionTimeoutMs = positiveInteger('sessionTimeoutMs', config.sessionTimeoutMs, 10_000, 1000)
  const heartbeatIntervalMs = positiveInteger('heartbeatIntervalMs', config.heartbeatIntervalMs, 1000)
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    invalid('heartbeatIntervalMs', heartbeatIntervalMs, `less than sessionTimeoutMs (${sessionTimeoutMs})`)
  }
  const rebalanceTimeoutMs = positiveInteger('rebalanceTimeoutMs', config.rebalanceTimeoutMs, 30_000)
  if (rebalanceTimeoutMs < sessionTimeoutMs) {
    invalid('rebalanceTimeoutMs', rebalanceTimeoutMs, `at least sessionTimeoutMs (${sessionTimeoutMs})`)
  }
  const groupProtocol = config.groupProtocol ?? 'classic'
  if (groupProtocol !== 'classic' && groupProtocol !== 'consumer') {
    invalid('groupProtocol', groupProtocol, "'classic' or 'consumer'")
  }
  if (groupProtocol === 'consumer' && guarantee === 'exactly_once') {
    invalid(
      'groupProtocol',
      groupProtocol,
      "'classic' with exactly_once: under the consumer protocol (KIP-848) @platformatic/kafka commits " +
        'transactional offsets with the classic generation instead of the member epoch (ILLEGAL_GENERATION); ' +
        "use processingGuarantee 'at_least_once' with it",
    )
  }
  let alignment: ResolvedStreamsConfig['eventTimeAlignment']
  if (config.eventTimeAlignment !== undefined) {
    const given = config.eventTimeAlignment as unknown
    if (typeof given !== 'object' || given === null) {
      invalid('eventTimeAlignment', given, '{ maxDriftMs, intervalMs? }')
    }
    const { maxDriftMs, intervalMs } = config.eventTimeAlignment
    if (!Number.isInteger(maxDriftMs) || maxDriftMs < 0) {
      invalid('eventTimeAlignment.maxDriftMs', maxDriftMs, 'an integer >= 0 (milliseconds of event time)')
    }
    if (groupProtocol !== 'classic') {
      invalid(
        'eventTimeAlignment',
        config.eventTimeAlignment,
        "groupProtocol 'classic' (reports count per group generation)",
      )
    }
    alignment = {
      maxDriftMs,
      intervalMs: positiveInteger('eventTimeAlignment.intervalMs', intervalMs, 50, 10),
    }
  }
  const reset = config.autoOffsetReset ?? 'earliest'
  if (reset !== 'earliest' && reset !== 'latest') invalid('autoOffsetReset', reset, "'earliest' or 'latest'")
  const commitIntervalMs = positiveInteger('commitIntervalMs', config.commitIntervalMs, 100)
  const transactionTimeoutMs = positiveInteger(
    'transactionTimeoutMs',
    config.transactionTimeoutMs,
    10_000,
    1000,
  )
  if (guarantee === 'exactly_once' && commitIntervalMs >= transactionTimeoutMs) {
    // A transaction stays open for about the commit interval: the coordinator would abort each one.
    invalid(
      'commitIntervalMs',
      commitIntervalMs,
      `less than transactionTimeoutMs (${transactionTimeoutMs}) with exactly_once`,
    )
  }
  const stateStore = config.stateStore ?? 'memory'
  if (!isStateStoreType(stateStore)) invalid('stateStore', stateStore, "'memory' or 'lmdb'")
  const windowStateStore = config.windowStateStore ?? 'memory'
  if (!isStateStoreType(windowStateStore)) invalid('windowStateStore', windowStateStore, "'memory' or 'lmdb'")
  if (windowStateStore === 'lmdb' && stateStore !== 'lmdb')
    invalid('windowStateStore', windowStateStore, "'memory' unless stateStore is 'lmdb'")
  const producerThread = config.producerThread ?? true
  if (typeof producerThread !== 'boolean') invalid('producerThread', producerThread, 'true or false')
  return {
    applicationId: config.applicationId,
    bootstrapServers: [...config.bootstrapServers],
    connection: { ...config.connection },
    processingGuarantee: guarantee,
    groupProtocol,
    commitIntervalMs,
    stateDir: config.stateDir ?? join(tmpdir(), 'agent-party-streams'),
    stateStore,
    windowStateStore,
    instanceId: config.instanceId,
    replicationFactor: positiveInteger('replicationFactor', config.replicationFactor, 1),
    sessionTimeoutMs,
    heartbeatIntervalMs,
    rebalanceTimeoutMs,
    transactionTimeoutMs,
    maxTransactionRecords: positiveInteger('maxTransactionRecords', config.maxTransactionRecords, 100_000),
    producerThread,
    maxBufferedRecordsPerPartition: positiveInteger(
      'maxBufferedRecordsPerPartition',
      config.maxBufferedRecordsPerPartition,
      1000,
    ),
    cacheMaxBytes: positiveInteger('cacheMaxBytes', config.cacheMaxBytes, 10 * 1024 * 1024, 0),
    maxTaskIdleMs: positiveInteger('maxTaskIdleMs', config.maxTaskIdleMs, 0, 0),
    eventTimeAlignment: alignment,
    deserializationExceptionHandler: config.deserializationExceptionHandler,
    // Unlike the engine's own default ('fail'), a running application dead-letters a record whose
    // processing throws and goes on (the dead-letter topic has the error); 'fail' stops it instead.
    processingExceptionHandler: config.processingExceptionHandler ?? 'dead-letter',
    deadLetterTopic: config.deadLetterTopic ?? `${config.applicationId}-dlq`,
    lateRecordTopic: config.lateRecordTopic ?? `${config.applicationId}-late`,
    repartitionPurgeIntervalMs: positiveInteger(
      'repartitionPurgeIntervalMs',
      config.repartitionPurgeIntervalMs,
      30_000,
    ),
    autoOffsetReset: reset,
    clientId: config.clientId ?? config.applicationId,
    logger: config.logger,
    engineMetrics: config.engineMetrics,
    metrics: config.metrics,
    onBeforeOffsetCommit: config.onBeforeOffsetCommit,
  }
}
