// The sinks of one process (`agent-party run sinks`): each enabled sink (SINKS) is a target with its
// own runner and consumer group, so that each stores its own offsets and moves at its own pace; they
// share the serdes, the metrics registry and the probe server (/metrics, /health, /ready on
// METRICS_PORT). Several processes share each sink's partitions.
import type { Config, SinkName } from '../config/config.js'
import { componentLogger, createRootLogger, type Logger } from '../config/logger.js'
import { createMetrics, type Metrics } from '../config/metrics.js'
import { ProbeServer, type Readiness } from '../config/probe-server.js'
import { loadProcessorConfig, type ProcessorConfig } from '../processors/config.js'
import { configuredProcessorSerdes, type ProcessorSerdes } from '../processors/serdes.js'
import { Neo4jSinkTarget } from './neo4j/target.js'
import { RedisSinkTarget, redisConnectionOptions } from './redis/target.js'
import { SinkRunner, type SinkRunnerOptions } from './runtime/sink-runner.js'
import type { SinkTarget } from './runtime/target.js'
import { ArchiveSinkTarget } from './s3/archive.js'
import { createS3Client } from './s3/client.js'

export interface RunningSinks {
  readonly runners: ReadonlyMap<SinkName, SinkRunner<unknown>>
  readonly metrics: Metrics
  /** The port of /metrics, /health and /ready; null when the caller serves them (metricsPort null). */
  readonly port: number | null
  /** What GET /ready answers: every runner running, none retrying its target. */
  readiness(): Readiness
  /** Resolves when every runner ended; rejects with the first fatal error. */
  readonly done: Promise<void>
  close(): Promise<void>
}

export interface StartSinksOptions {
  /** Instead of SINKS. */
  readonly sinks?: readonly SinkName[]
  /** Instead of PROCESSOR_CONFIG (the topic names and window sizes the sinks read). */
  readonly processor?: ProcessorConfig
  readonly logger?: Logger
  /**
   * Instead of METRICS_PORT (tests: 0). null: no probe server of its own; the caller serves `metrics`
   * and `readiness()` (`agent-party run all`: one server for the roles of the process).
   */
  readonly metricsPort?: number | null
  /** The metrics to record into, instead of a registry of its own (`run all` shares one). */
  readonly metrics?: Metrics
  /** Runner settings over the configuration's (tests: short sessions, a group prefix). */
  readonly runner?: Partial<Omit<SinkRunnerOptions<unknown>, 'kafka' | 'target' | 'metrics' | 'logger'>>
  /** Key prefix of the Redis sink and of the archive's objects (tests), over REDIS_KEY_PREFIX. */
  readonly redisPrefix?: string
  readonly archivePrefix?: string
  /** Sink ids (their stored offsets' `sink`), default the sink's name (tests keep theirs apart). */
  readonly sinkId?: (sink: SinkName) => string
  /** Disables the stored-offset check of Neo4j and Redis, and takes positions from the group. Tests only. */
  readonly unguarded?: boolean
}

export async function startSinks(config: Config, options: StartSinksOptions = {}): Promise<RunningSinks> {
  const processor = options.processor ?? loadProcessorConfig(config.processor.configFile)
  const root = options.logger ?? createRootLogger(config.log)
  const log = componentLogger(root, config.log, 'sinks')
  const metrics = options.metrics ?? createMetrics(undefined, { defaultMetrics: true })
  const serdes = await configuredProcessorSerdes(config, processor)
  const enabled = options.sinks ?? config.sinks.enabled
  const runners = new Map<SinkName, SinkRunner<unknown>>()
  for (const sink of enabled) {
    const target = createSinkTarget(sink, config, processor, serdes, { ...options, metrics, logger: root })
    runners.set(
      sink,
      new SinkRunner<unknown>({
        kafka: config.kafka,
        target,
        groupId: `${config.sinks.groupPrefix}-${sink}`,
        ...(config.streams.instanceId ? { instanceId: config.streams.instanceId } : {}),
        batchSize: config.sinks.batchSize,
        lingerMs: config.sinks.lingerMs,
        replicationFactor: config.kafka.replicationFactor,
        ...(options.unguarded ? { positionsFrom: 'group' as const } : {}),
        ...options.runner,
        metrics: metrics.sinks,
        logger: componentLogger(root, config.log, sink),
      }),
    )
  }
  const probe =
    options.metricsPort === null
      ? undefined
      : new ProbeServer({ registry: metrics.registry, ready: () => readiness(runners) })
  const port = probe ? await probe.start(options.metricsPort ?? config.streams.metricsPort) : null
  const started: SinkRunner<unknown>[] = []
  try {
    for (const runner of runners.values()) {
      await runner.start()
      started.push(runner)
    }
  } catch (error) {
    await Promise.all(started.map((r) => r.stop()))
    await probe?.close()
    throw error
  }
  log.info({ sinks: enabled, port }, 'sinks started')
  let closing: Promise<void> | undefined
  return {
    runners,
    metrics,
    port,
    readiness: () => readiness(runners),
    done: Promise.all([...runners.values()].map((r) => r.done)).then(() => {}),
    close: () => {
      closing ??= (async () => {
        await Promise.all([...runners.values()].map((r) => r.stop()))
        await probe?.close()
        log.info('sinks stopped')
      })()
      return closing
    },
  }
}

/**
 * One sink's target as `agent-party run sinks` builds it from the configuration (and the options'
 * names, for tests); also what the pipeline reset (ops/reset.ts) clears. Metrics and logger optional.
 */
export function createSinkTarget(
  sink: SinkName,
  config: Config,
  processor: ProcessorConfig,
  serdes: ProcessorSerdes,
  options: StartSinksOptions & { readonly metrics?: Metrics } = {},
): SinkTarget<unknown> {
  const name = options.sinkId?.(sink) ?? sink
  const logger = options.logger && componentLogger(options.logger, config.log, sink)
  const metrics = options.metrics?.sinks
  switch (sink) {
    case 'neo4j':
      return new Neo4jSinkTarget({
        name,
        neo4j: config.neo4j,
        pool: {
          maxConnectionPoolSize: config.neo4j.maxPoolSize,
          maxConnectionLifetime: config.neo4j.maxConnectionLifetimeMs,
          // The driver retries a transient failure inside one apply for this long; past it the runner's
          // own backoff takes over (and /ready says the target is down), instead of one 30 s call.
          maxTransactionRetryTime: 5_000,
        },
        topics: {
          agents: processor.outputTopics.agents,
          teams: processor.outputTopics.teams,
          tasks: processor.outputTopics.tasks,
        },
        serdes,
        ...(options.unguarded ? { guard: false } : {}),
        metrics,
        logger,
      }) as SinkTarget<unknown>
    case 'redis':
      return new RedisSinkTarget({
        name,
        url: config.redis.url,
        redisOptions: redisConnectionOptions(config.redis),
        serdes,
        prefix: options.redisPrefix ?? config.redis.keyPrefix,
        outputTopics: processor.outputTopics,
        metricsWindowMs: processor.metricsWindowMs,
        hoppingWindowMs: processor.hoppingWindowMs,
        ...(options.unguarded ? { offsetMode: 'unguarded' as const } : {}),
        metrics,
        logger,
      }) as SinkTarget<unknown>
    case 'archive':
      return new ArchiveSinkTarget({
        name,
        client: createS3Client(config.s3),
        bucket: config.s3.bucket,
        region: config.s3.region,
        topics: Object.values(processor.inputTopics),
        ...(options.archivePrefix !== undefined ? { prefix: options.archivePrefix } : {}),
        rangeRecords: config.sinks.archiveRangeRecords,
        idleMs: config.sinks.archiveIdleMs,
        retentionMs: config.sinks.archiveRetentionDays * 24 * 60 * 60 * 1000,
        metrics,
        logger,
      }) as SinkTarget<unknown>
  }
}

function readiness(runners: ReadonlyMap<SinkName, SinkRunner<unknown>>): Readiness {
  const reasons: string[] = []
  for (const [sink, runner] of runners) {
    const status = runner.status()
    if (status.state !== 'RUNNING') reasons.push(`${sink}: ${status.state.toLowerCase()}`)
    else if (status.retrying) reasons.push(`${sink}: target unavailable (${status.lastError ?? 'retrying'})`)
  }
  return reasons.length === 0 ? { ready: true } : { ready: false, reasons }
}
