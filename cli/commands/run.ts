// `agent-party run processor|sinks|api`: one instance of a role, until SIGTERM or SIGINT (a clean close:
// the processor commits its open transaction, a sink applies what it fetched; the group is left).
import type { Command } from 'commander'
import { startApi } from '../../api/run-api.js'
import { loadConfig } from '../../config/config.js'
import { startProcessor } from '../../processors/run-processor.js'
import { startSinks } from '../../sinks/run-sinks.js'

function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => resolve()
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
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
      await untilSignal()
      await processor.close()
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
      // A fatal error (credentials, permissions) ends the process with it, after a clean close.
      const failed = sinks.done.then(
        () => undefined,
        (error: unknown) => error,
      )
      const outcome = await Promise.race([untilSignal().then(() => undefined), failed])
      await sinks.close()
      if (outcome !== undefined) throw outcome
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
}
