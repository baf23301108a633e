// The Kafka runtime of the engine: KafkaStreams and what configures and observes it.

export type { StateStoreType } from '../state-store.js'
export { planTopology, type TopologyLayout } from './internal-topics.js'
export { KafkaStreams, type StreamsState, type StreamsStatus } from './kafka-streams.js'
export { type ResetOptions, type ResetReport, resetApplication } from './reset.js'
export { NO_RUNTIME_METRICS, type RuntimeMetrics, type StoreSize } from './runtime-metrics.js'
export type { ProcessingGuarantee, StreamsConfig } from './streams-config.js'
export {
  allTasks,
  assignTasks,
  coPartitioningAssigner,
  taskPartitions,
  tasksOfAssignment,
} from './task-assignor.js'
