// `agent-party run processor|sinks|api|all`: one instance of a role, or all three in one process (small
// installs, the demo), until SIGTERM or SIGINT (a clean close: the processor commits its open
// transaction, a sink applies what it fetched; the group is left).
import type { Command } from 'commander'
import { type RunningApi, startApi } from '../../api/run-api.js'
import { type Config, ConfigError, loadConfig } from '../../config/config.js'
import { createRootLogger } from '../../config/logger.js'
import { createMetrics } from '../../config/metrics.js'
import { ProbeServer, type Readiness } from '../../config/probe-server.js'
import { loadProcessorConfig } from '../../processors/config.js'
import { type RunningProcessor, startProcessor } from '../../processors/run-processor.js'
import { type RunningSinks, startSinks } from '../../sinks/run-sinks.js'

// The first SIGTERM or SIGINT starts the clean close; later ones are ignored rather than left to
// Node's default, which would kill the process mid-close (npm passes a terminal's Ctrl-C on too).
function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
  })
}

/**
 * Runs a role until `stop` (a signal) or its fatal error, which `failure` rejects with (the processor's
 * streams in state ERROR; a sink's credentials or permissions refused). Either way the role is closed;
 * the error is then thrown, so that the process exits non-zero and its supervisor restarts it (a
 * processor in ERROR no longer processes, and its /health would otherwise stay ok).
 */
export async function runUntilStopped(
  role: { close(): Promise<void> },
  failure: Promise<unknown>,
  stop: Promise<void>,
): Promise<void> {
  const failed = failure.then(
    () => undefined,
    (error: unknown) => error,
  )
  const outcome = await Promise.race([stop.then(() => undefined), failed])
  await role.close()
  if (outcome !== undefined) throw outcome
}

export interface RunningAll {
  /** The port of the processor's and sinks' /metrics, /health and /ready (METRICS_PORT). */
  readonly metricsPort: number
  readonly api: RunningApi
  /** Rejects with a sink's fatal error (credentials, permissions) or the processor's. */
  readonly failed: Promise<never>
  /** API, sinks, processor, then the probe server: the reverse of the start. */
  close(): Promise<void>
}

/**
 * The processor, the sinks and the API in this process. The processor and the sinks record into one
 * metrics registry served by one probe server on METRICS_PORT (each would otherwise listen there on its
 * own), whose /ready is ready when both are; the API serves its own on API_PORT and ingests into the
 * processor's input topics (PROCESSOR_CONFIG).
 */
export async function startAll(config: Config): Promise<RunningAll> {
  const { metricsPort } = config.streams
  if (metricsPort !== 0 && metricsPort === config.api.port)
    throw new ConfigError([
      {
        variable: 'METRICS_PORT',
        problem: `is API_PORT (${metricsPort}), and run all serves both in one process`,
        expected: 'a port other than API_PORT',
      },
    ])
  const logger = createRootLogger(config.log)
  const metrics = createMetrics(undefined, { defaultMetrics: true })
  let processor: RunningProcessor | undefined
  let sinks: RunningSinks | undefined
  let api: RunningApi | undefined
  const probe = new ProbeServer({
    registry: metrics.registry,
    ready: (): Readiness => {
      const parts = [
        processor ? processor.streams.readiness() : { ready: false, reasons: ['starting'] },
        sinks ? sinks.readiness() : { ready: false, reasons: ['starting'] },
      ]
      const reasons = parts.flatMap((p, i) =>
        (p.reasons ?? []).map((r) => `${i === 0 ? 'processor' : 'sinks'}: ${r}`),
      )
      return { ready: parts.every((p) => p.ready), reasons }
    },
  })
  const close = async () => {
    // Each closes even when one before it failed; the first failure is thrown after.
    let failure: unknown
    for (const role of [api, sinks, processor, probe])
      await role?.close().catch((error: unknown) => {
        failure ??= error
      })
    if (failure !== undefined) throw failure
  }
  try {
    const port = await probe.start(metricsPort)
    const topology = loadProcessorConfig(config.processor.configFile)
    processor = await startProcessor(config, { processor: topology, metrics, metricsPort: null, logger })
    sinks = await startSinks(config, { processor: topology, metrics, metricsPort: null, logger })
    // The API ingests into the topics this processor reads (its PROCESSOR_CONFIG's input topics).
    api = await startApi(config, { processor: topology, logger })
    const failed = Promise.race([sinks.done.then(() => new Promise<never>(() => {})), processor.failed])
    failed.catch(() => {})
    return { metricsPort: port, api, failed, close }
  } catch (error) {
    await close().catch(() => {})
    throw error
  }
}

export function registerRunCommand(program: Command): void {
  const run = program
    .command('run')
    .description('Run one of the pipeline roles until stopped (SIGTERM, SIGINT)')
  run
    .command('processor')
    .description(
      'Run the Agent Party topology (exactly-once by default) against the configured Kafka; instances ' +
        'with the same application id share the partitions. Serves /metrics, /health and /ready on ' +
        'METRICS_PORT; topology settings come from PROCESSOR_CONFIG',
    )
    .action(async () => {
      const processor = await startProcessor(loadConfig())
      await runUntilStopped(processor, processor.failed, untilSignal())
    })
  run
    .command('sinks')
    .description(
      'Run the sinks named by SINKS (neo4j, redis, archive), each in its own consumer group, applying ' +
        "the processors' outputs (and the raw events, for the archive) exactly once: offsets are stored " +
        'with the data. Instances share the partitions. Serves /metrics, /health and /ready on METRICS_PORT',
    )
    .action(async () => {
      const sinks = await startSinks(loadConfig())
      await runUntilStopped(sinks, sinks.done, untilSignal())
    })
  run
    .command('api')
    .description(
      'Serve the query and ingest API (Fastify) on API_PORT: reads from Redis and Neo4j, POST /events, ' +
        'JWT roles (POST /token with API_USERS_FILE), /health, /ready, /metrics with the consumer lag of ' +
        "the project's groups, and the OpenAPI docs at /docs",
    )
    .action(async () => {
      const api = await startApi(loadConfig())
      await untilSignal()
      await api.close()
    })
  run
    .command('all')
    .description(
      'Run the processor, the sinks (SINKS) and the API in one process, for small installs and the demo. ' +
        "The processor's and the sinks' /metrics, /health and /ready are served on METRICS_PORT by one " +
        'server (ready when both are), the API on API_PORT (the two must differ). SIGTERM or SIGINT ' +
        'closes the API, then the sinks, then the processor',
    )
    .action(async () => {
      const all = await startAll(loadConfig())
      const outcome = await Promise.race([
        untilSignal().then(() => undefined),
        all.failed.catch((error: unknown) => ({ error })),
      ])
      await all.close()
      if (outcome !== undefined) throw outcome.error
    })
}
