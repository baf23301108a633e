// One running instance of the Agent Party topology (`agent-party run processor`, `npm start`): the
// output topics ensured, the serdes of the configured encoding, the topology on the Kafka runtime
// (exactly-once by default), and /metrics, /health and /ready on METRICS_PORT. Several instances with
// the same application id share the partitions.
import type { Config } from '../config/config.js'
import { componentLogger, createRootLogger, type Logger } from '../config/logger.js'
import { createMetrics, type Metrics } from '../config/metrics.js'
import { ProbeServer } from '../config/probe-server.js'
import { createAdmin, kafkaConnection } from '../kafka/clients.js'
import { ensureTopics } from '../kafka/topics.js'
import { KafkaStreams, type StreamsConfig } from '../topology/runtime/index.js'
import { loadProcessorConfig, type ProcessorConfig } from './config.js'
import { ENTITY_INPUTS, outputTopicSpecs } from './outputs.js'
import { configuredProcessorSerdes } from './serdes.js'
import { agentPartyTopology } from './topology.js'

export interface RunningProcessor {
  readonly streams: KafkaStreams
  readonly metrics: Metrics
  /** The port /metrics, /health and /ready listen on; null when the caller serves them (metricsPort null). */
  readonly port: number | null
  /**
   * Rejects with the streams' fatal error (state ERROR: the instance no longer processes). A process
   * running the processor should then close and exit non-zero, so that its supervisor restarts it.
   */
  readonly failed: Promise<never>
  close(): Promise<void>
}

export interface StartProcessorOptions {
  /** Instead of PROCESSOR_CONFIG. */
  readonly processor?: ProcessorConfig
  readonly logger?: Logger
  /**
   * Instead of METRICS_PORT (tests: 0). null: no probe server of its own; the caller serves `metrics`
   * and `streams.readiness()` (`agent-party run all`: one server for the roles of the process).
   */
  readonly metricsPort?: number | null
  /** The metrics to record into, instead of a registry of its own (`run all` shares one). */
  readonly metrics?: Metrics
  /** Partitions of output topics it creates. Default 8, as provisioning makes them. */
  readonly outputPartitions?: number
}

/**
 * The runtime settings of a processor instance, from the environment's Config (Kafka connection,
 * PROCESSING_GUARANTEE, PRODUCER_THREAD, COMMIT_INTERVAL_MS, CACHE_MAX_BYTES, MAX_TRANSACTION_RECORDS,
 * TRANSACTION_TIMEOUT_MS, INSTANCE_ID, STATE_DIR, STATE_STORE) and the topology's (application id, event-time
 * drift).
 */
export function processorStreamsSettings(config: Config, processor: ProcessorConfig) {
  const { streams } = config
  return {
    applicationId: processor.applicationId,
    bootstrapServers: config.kafka.bootstrapServers,
    connection: kafkaConnection(config.kafka),
    clientId: config.kafka.clientId,
    replicationFactor: config.kafka.replicationFactor,
    processingGuarantee: streams.processingGuarantee,
    producerThread: streams.producerThread,
    commitIntervalMs: streams.commitIntervalMs,
    cacheMaxBytes: streams.cacheMaxBytes,
    maxTransactionRecords: streams.maxTransactionRecords,
    transactionTimeoutMs: streams.transactionTimeoutMs,
    ...(streams.instanceId ? { instanceId: streams.instanceId } : {}),
    ...(streams.stateDir ? { stateDir: streams.stateDir } : {}),
    stateStore: streams.stateStore,
    windowStateStore: streams.windowStateStore,
    ...(processor.maxEventTimeDriftMs === null
      ? {}
      : { eventTimeAlignment: { maxDriftMs: processor.maxEventTimeDriftMs } }),
  } satisfies StreamsConfig
}

export async function startProcessor(
  config: Config,
  options: StartProcessorOptions = {},
): Promise<RunningProcessor> {
  const processor = options.processor ?? loadProcessorConfig(config.processor.configFile)
  const root = options.logger ?? createRootLogger(config.log)
  const log = componentLogger(root, config.log, 'processor')
  const admin = createAdmin(config.kafka, 'processor-admin')
  try {
    // The entity outputs are their tables' changelogs: as many partitions as the event topics.
    const families = Object.values(ENTITY_INPUTS)
    const present = new Set(await admin.listTopics())
    const events = families.filter((f) => present.has(processor.inputTopics[f]))
    const metadata =
      events.length > 0
        ? await admin.metadata({ topics: events.map((f) => processor.inputTopics[f]), forceUpdate: true })
        : undefined
    const eventPartitions = Object.fromEntries(
      events.map((f) => [f, metadata?.topics.get(processor.inputTopics[f])?.partitionsCount]),
    )
    const specs = outputTopicSpecs(processor.outputTopics, {
      ...(options.outputPartitions ? { partitions: options.outputPartitions } : {}),
      eventPartitions,
    })
    await ensureTopics(admin, specs, config.kafka.replicationFactor)
  } finally {
    await admin.close()
  }
  const serdes = await configuredProcessorSerdes(config, processor)
  const metrics = options.metrics ?? createMetrics(undefined, { defaultMetrics: true })
  const topology = agentPartyTopology(processor, serdes, {
    onDuplicate: (topic) => metrics.processor.duplicate(topic),
    onDataQuality: (reason) => metrics.processor.dataQuality(reason),
  })
  const settings = processorStreamsSettings(config, processor)
  const streams = new KafkaStreams(topology, {
    ...settings,
    logger: componentLogger(root, config.log, 'kafka'),
    metrics: metrics.streams,
    engineMetrics: metrics.engine,
  })
  const probe =
    options.metricsPort === null
      ? undefined
      : new ProbeServer({ registry: metrics.registry, ready: () => streams.readiness() })
  const port = probe ? await probe.start(options.metricsPort ?? config.streams.metricsPort) : null
  // Listened to before the start: a failure in the first round must not go unseen.
  const failed = new Promise<never>((_, reject) => streams.once('error', reject))
  failed.catch(() => {})
  try {
    await streams.start()
  } catch (error) {
    await probe?.close()
    throw error
  }
  log.info(
    {
      applicationId: processor.applicationId,
      guarantee: settings.processingGuarantee,
      port,
      commitIntervalMs: settings.commitIntervalMs,
      cacheMaxBytes: settings.cacheMaxBytes,
      maxTransactionRecords: settings.maxTransactionRecords,
      transactionTimeoutMs: settings.transactionTimeoutMs,
      stateStore: settings.stateStore,
    },
    'processor started',
  )
  return {
    streams,
    metrics,
    port,
    failed,
    close: async () => {
      await streams.close()
      await probe?.close()
      log.info('processor stopped')
    },
  }
}
