// `agent-party run processor`: one instance of the Agent Party topology, until SIGTERM or SIGINT (a
// clean close: the open transaction commits, the group is left). Issue 11 adds sinks, api and all.
import type { Command } from 'commander'
import { loadConfig } from '../../config/config.js'
import { startProcessor } from '../../processors/run-processor.js'

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
      await new Promise<void>((resolve) => {
        const stop = () => resolve()
        process.once('SIGTERM', stop)
        process.once('SIGINT', stop)
      })
      await processor.close()
    })
}
