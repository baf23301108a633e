// One API process (`agent-party run api`): the read side of Neo4j (READ access mode) and Redis, the
// event ingest's idempotent producer, the consumer-lag exporter of every project group, the business
// gauges, and Fastify on API_PORT. Closes in order on SIGTERM: stop accepting, finish in-flight
// requests, then the clients.
import type { Admin } from '@platformatic/kafka'
import type { FastifyInstance } from 'fastify'
import { Redis } from 'ioredis'
import type { Client as S3Client } from 'minio'
import type { Driver } from 'neo4j-driver'
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'
import type { Config } from '../config/config.js'
import { SINK_NAMES } from '../config/env.js'
import { componentLogger, createRootLogger, type Logger } from '../config/logger.js'
import { createAdmin } from '../kafka/clients.js'
import { replayFromArchive, replayPipeline } from '../ops/replay.js'
import { resetPipeline } from '../ops/reset.js'
import { loadProcessorConfig, type ProcessorConfig } from '../processors/config.js'
import { describeTopology } from '../processors/describe.js'
import { type EventFamily, RegistryClient } from '../schemas/index.js'
import { createNeo4jDriver } from '../sinks/neo4j/driver.js'
import { RedisReadModel } from '../sinks/redis/read-model.js'
import { redisConnectionOptions } from '../sinks/redis/target.js'
import { createS3Client } from '../sinks/s3/client.js'
import { buildApi } from './app.js'
import { TokenService } from './auth/tokens.js'
import { loadUsers } from './auth/users.js'
import { registerBusinessMetrics } from './business-metrics.js'
import { GraphReads } from './graph-reads.js'
import { EventIngest } from './ingest/event-ingest.js'
import { LagExporter } from './lag/lag-exporter.js'
import { ReplayJobs } from './replay-jobs.js'
import type { DependencyCheck, EventWriter, IngestResult } from './services.js'

export interface RunningApi {
  readonly app: FastifyInstance
  readonly port: number
  readonly registry: Registry
  close(): Promise<void>
}

export interface StartApiOptions {
  /** Instead of PROCESSOR_CONFIG (topic names, application id, window sizes). */
  readonly processor?: ProcessorConfig
  readonly logger?: Logger
  /** Instead of API_PORT (tests: 0). */
  readonly port?: number
  /** Instead of API_HOST. */
  readonly host?: string
  /** Redis key prefix over REDIS_KEY_PREFIX (tests). */
  readonly redisPrefix?: string
  /** Event topics over PROCESSOR_CONFIG's input topics (tests). */
  readonly eventTopics?: Partial<Record<EventFamily, string>>
  /** Off in tests that do not need the lag exporter's timer. Default on. */
  readonly lag?: boolean
}

export async function startApi(config: Config, options: StartApiOptions = {}): Promise<RunningApi> {
  const root = options.logger ?? createRootLogger(config.log)
  const log = componentLogger(root, config.log, 'api')
  const tokens = await TokenService.create(config.api.jwt)
  const users = config.api.usersFile === undefined ? undefined : loadUsers(config.api.usersFile)
  if (users === undefined) log.warn('API_USERS_FILE is empty: POST /token issues no token')
  const processor = options.processor ?? loadProcessorConfig(config.processor.configFile)

  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const neo4jFailures = new Counter({
    name: 'neo4j_connection_failures_total',
    help: "Neo4j calls of the API's reads that failed to reach the server",
    registers: [registry],
  })
  const neo4jQueries = new Histogram({
    name: 'neo4j_query_duration_seconds',
    help: "Duration of the API's Neo4j reads, by query",
    labelNames: ['operation'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  })

  const closers: (() => Promise<unknown>)[] = []
  const close = async () => {
    for (const c of closers.reverse()) await c().catch((error) => log.warn({ err: error }, 'close failed'))
  }
  try {
    // While Redis is down a command waits for one reconnection attempt (or 5 s), then fails and the
    // route answers 503; commands sent while the client first connects just wait for it.
    const redis = new Redis(config.redis.url, {
      ...redisConnectionOptions(config.redis),
      maxRetriesPerRequest: 1,
      connectTimeout: 3000,
      commandTimeout: 5000,
    })
    redis.on('error', (error) => log.debug({ err: error }, 'redis connection error'))
    closers.push(async () => redis.disconnect())
    const readModel = new RedisReadModel(redis, options.redisPrefix ?? config.redis.keyPrefix)

    const driver = createNeo4jDriver(config.neo4j, {
      maxConnectionPoolSize: config.neo4j.maxPoolSize,
      maxConnectionLifetime: config.neo4j.maxConnectionLifetimeMs,
      connectionAcquisitionTimeout: 5000,
      connectionTimeout: 3000,
    })
    closers.push(() => driver.close())
    const graph = new GraphReads(driver, config.neo4j.database, (operation, ms, failure) => {
      neo4jQueries.observe({ operation }, ms / 1000)
      if (failure) neo4jFailures.inc()
    })

    const events = new LazyEventWriter(() =>
      // Into the topics the processor reads (PROCESSOR_CONFIG may rename them).
      EventIngest.create(config, { topics: options.eventTopics ?? processor.inputTopics }),
    )
    closers.push(() => events.close())

    const admin = createAdmin(config.kafka, 'api-ready')
    closers.push(() => admin.close())
    const checks = dependencyChecks(config, { admin, driver, redis, s3: createS3Client(config.s3) })

    if (options.lag !== false) {
      const lag = new LagExporter({
        kafka: config.kafka,
        registry,
        groups: [
          processor.applicationId,
          ...SINK_NAMES.map((s) => `${config.sinks.groupPrefix}-${s}`),
          ...config.api.lag.groups,
        ],
        pollIntervalMs: config.api.lag.pollMs,
        logger: componentLogger(root, config.log, 'lag'),
      })
      await lag.start()
      closers.push(() => lag.close())
    }
    registerBusinessMetrics({
      registry,
      readModel,
      windowMs: processor.metricsWindowMs,
      logger: log,
    })

    const app = await buildApi(
      {
        readModel,
        graph,
        events,
        reset: (request) =>
          resetPipeline(config, {
            processor,
            ...(options.redisPrefix !== undefined ? { redisPrefix: options.redisPrefix } : {}),
            ...(request.sinks ? { sinks: request.sinks } : {}),
            logger: log,
          }),
        replays: new ReplayJobs(
          (request, onProgress) => {
            const replay = {
              processor,
              ...(options.redisPrefix !== undefined ? { redisPrefix: options.redisPrefix } : {}),
              ...(request.sinks ? { sinks: request.sinks } : {}),
              onProgress,
              logger: log,
            }
            return request.from === 'archive'
              ? replayFromArchive(config, replay)
              : replayPipeline(config, replay)
          },
          (job) => log.warn({ job }, 'replay finished'),
        ),
        topology: describeTopology(processor),
        checks,
      },
      {
        tokens,
        ...(users ? { users } : {}),
        rateLimitPerMinute: config.api.rateLimitPerMinute,
        corsOrigins: config.api.corsOrigins,
        logger: componentLogger(root, config.log, 'http'),
        registry,
      },
    )
    closers.push(() => app.close())
    const listenPort = options.port ?? config.api.port
    const listenHost = options.host ?? config.api.host
    await app.listen({ port: listenPort, host: listenHost }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE')
        throw new Error(
          `port ${listenPort} on ${listenHost} is in use (API_PORT): stop the process that holds it or choose another port`,
        )
      throw error
    })
    const address = app.server.address()
    const port = typeof address === 'object' && address !== null ? address.port : 0
    log.info({ port }, 'api started')
    return { app, port, registry, close }
  } catch (error) {
    await close()
    throw error
  }
}

/** What /ready asks, one check per dependency, on clients the caller owns. */
export function dependencyChecks(
  config: Config,
  clients: { admin: Admin; driver: Driver; redis: Redis; s3: S3Client },
): DependencyCheck[] {
  const { admin, driver, redis, s3 } = clients
  return [
    { name: 'kafka', check: async () => void (await admin.metadata({ topics: [], forceUpdate: true })) },
    {
      name: 'neo4j',
      check: async () => void (await driver.verifyConnectivity({ database: config.neo4j.database })),
    },
    { name: 'redis', check: async () => void (await redis.ping()) },
    {
      name: 's3',
      check: async () => {
        if (!(await s3.bucketExists(config.s3.bucket)))
          throw new Error(`bucket ${config.s3.bucket} does not exist`)
      },
    },
    {
      name: 'registry',
      check: async () => {
        await new RegistryClient({ ...config.schemaRegistry, timeoutMs: 3000, retries: 0 }).subjects()
      },
    },
  ]
}

/**
 * The event ingest, created on first use: with the registry encoding it looks up schema ids, and the
 * API must start (and say it is not ready) while the registry is down. A failed creation is retried
 * on the next request.
 */
class LazyEventWriter implements EventWriter {
  #ingest: Promise<EventIngest> | undefined

  constructor(readonly create: () => Promise<EventIngest>) {}

  #get(): Promise<EventIngest> {
    if (this.#ingest === undefined) {
      const created = this.create()
      this.#ingest = created
      created.catch(() => {
        if (this.#ingest === created) this.#ingest = undefined
      })
    }
    return this.#ingest
  }

  async ingest(body: unknown): Promise<IngestResult> {
    return (await this.#get()).ingest(body)
  }

  async createAgent(body: unknown): Promise<IngestResult> {
    return (await this.#get()).createAgent(body)
  }

  async close(): Promise<void> {
    const ingest = this.#ingest
    this.#ingest = undefined
    await (await ingest?.catch(() => undefined))?.close()
  }
}
