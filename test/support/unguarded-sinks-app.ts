// The Neo4j and Redis sinks without their guard, as a child process for the sinks' chaos test: each
// sink takes its positions from its group's offsets, auto-committed every 5 s (what a plain
// at-least-once consumer does), and applies every record whatever the stored offset. Its own sink ids,
// key prefix and groups (from the environment), so that it never touches the guarded sinks' state.
// Runs until SIGTERM (a clean stop) or SIGKILL (a crash).
import { loadConfig } from '../../config/config.js'
import { startSinks } from '../../sinks/run-sinks.js'

const config = loadConfig()
const sinks = await startSinks(config, {
  sinks: ['neo4j', 'redis'],
  unguarded: true,
  sinkId: (sink) => `${sink}-unguarded`,
  metricsPort: 0,
})
process.once('SIGTERM', () => {
  void sinks.close().then(() => process.exit(0))
})
