// The four Agent Party event topics, as the operations guide creates them. Replication comes from
// KAFKA_REPLICATION_FACTOR (3 in production, 1 on a single local broker), not from here.
import type { TopicSpec } from '../../kafka/topics.js'

const DAY_MS = 24 * 60 * 60 * 1000

const eventTopic = (name: string, partitions: number, retentionDays: number): TopicSpec => ({
  name,
  partitions,
  configs: { 'cleanup.policy': 'delete', 'retention.ms': String(retentionDays * DAY_MS) },
})

export const EVENT_TOPICS: readonly TopicSpec[] = Object.freeze([
  eventTopic('agent_events', 8, 7),
  eventTopic('team_events', 8, 7),
  eventTopic('task_events', 8, 7),
  eventTopic('system_events', 4, 14),
])
