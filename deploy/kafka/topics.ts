// The four Agent Party event topics, as the operations guide creates them. Replication comes from
// KAFKA_REPLICATION_FACTOR (3 in production, 1 on a single local broker), not from here.
import type { TopicSpec } from '../../kafka/topics.js'

const DAY_MS = 24 * 60 * 60 * 1000

export const EVENT_TOPICS: readonly TopicSpec[] = Object.freeze([
  {
    name: 'agent_events',
    partitions: 8,
    configs: { 'cleanup.policy': 'delete', 'retention.ms': String(7 * DAY_MS) },
  },
  {
    name: 'team_events',
    partitions: 8,
    configs: { 'cleanup.policy': 'delete', 'retention.ms': String(7 * DAY_MS) },
  },
  {
    name: 'task_events',
    partitions: 8,
    configs: { 'cleanup.policy': 'delete', 'retention.ms': String(7 * DAY_MS) },
  },
  {
    name: 'system_events',
    partitions: 4,
    configs: { 'cleanup.policy': 'delete', 'retention.ms': String(14 * DAY_MS) },
  },
])
