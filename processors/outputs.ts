// The Agent Party topology's output topics, in one table: each output's default topic, the Avro schema
// of its values (schemas/avro/outputs/<name>.avsc, registered under `<topic>-value`) and its kind,
// which decides the topic's cleanup policy:
// - `snapshot`: the latest full state of an entity keyed by its id: compacted, kept forever;
// - `windowed`: a windowed aggregate keyed by (group key, window start), emitted on update: compacted
//   (a window's last value is what counts) and deleted after the retention;
// - `event`: one record per occurrence (alerts, data-quality findings, attributions): deleted after
//   the retention.
import type { TopicSpec } from '../kafka/topics.js'
import { type FamilySchemas, type OutputSchemaName, outputSchema } from '../schemas/index.js'

export type OutputKind = 'snapshot' | 'windowed' | 'event'

export interface OutputSpec {
  readonly topic: string
  readonly schema: OutputSchemaName
  readonly kind: OutputKind
}

const output = (name: string, kind: OutputKind, schema = name): OutputSpec => ({
  topic: `agent_party.${name}`,
  schema: `outputs/${schema}`,
  kind,
})

export const OUTPUTS = {
  // Entity tables.
  agents: output('agents', 'snapshot'),
  teams: output('teams', 'snapshot'),
  tasks: output('tasks', 'snapshot'),
  // Business metrics, on the metrics windows (1 min tumbling) and on hopping windows (1 h / 5 min).
  agentInstantiations: output('agent_instantiations', 'windowed'),
  agentInstantiationsHourly: output('agent_instantiations_1h', 'windowed', 'agent_instantiations'),
  teamFormations: output('team_formations', 'windowed'),
  teamFormationsHourly: output('team_formations_1h', 'windowed', 'team_formations'),
  taskOutcomes: output('task_outcomes', 'windowed'),
  taskOutcomesHourly: output('task_outcomes_1h', 'windowed', 'task_outcomes'),
  tokensByAgent: output('tokens_by_agent', 'windowed'),
  tokensByAgentHourly: output('tokens_by_agent_1h', 'windowed', 'tokens_by_agent'),
  tokensByTeam: output('tokens_by_team', 'windowed'),
  tokensByTeamHourly: output('tokens_by_team_1h', 'windowed', 'tokens_by_team'),
  tokensByTemplate: output('tokens_by_template', 'windowed'),
  tokensByTemplateHourly: output('tokens_by_template_1h', 'windowed', 'tokens_by_template'),
  topTokenConsumers: output('top_token_consumers', 'windowed'),
  topTokenConsumersHourly: output('top_token_consumers_1h', 'windowed', 'top_token_consumers'),
  // Performance metrics.
  processingLatency: output('processing_latency', 'windowed'),
  inferenceTime: output('inference_time', 'windowed'),
  componentMetrics: output('component_metrics', 'windowed'),
  // Utilization and activity sessions.
  agentUtilization: output('agent_utilization', 'windowed'),
  templateUtilization: output('template_utilization', 'windowed'),
  agentSessions: output('agent_sessions', 'windowed'),
  // Joins.
  teamTaskAttribution: output('team_task_attribution', 'event'),
  teamTaskOutcomes: output('team_task_outcomes', 'windowed'),
  idleAgentsByCapability: output('idle_agents_by_capability', 'snapshot'),
  formationRequestCapacity: output('formation_request_capacity', 'event'),
  // Alerts and data quality (kept as long as system_events: 14 days).
  alerts: output('alerts', 'event'),
  dataQuality: output('data_quality', 'event'),
} as const satisfies Record<string, OutputSpec>

export type OutputName = keyof typeof OUTPUTS

export const OUTPUT_NAMES = Object.freeze(Object.keys(OUTPUTS) as OutputName[])

const DAY_MS = 24 * 60 * 60 * 1000

/** The event topic each entity table reads: its output (also its changelog) needs as many partitions. */
export const ENTITY_INPUTS = { agents: 'agent_events', teams: 'team_events', tasks: 'task_events' } as const

/**
 * The topic of each output as created by provisioning (8 partitions, as the entity topics). The
 * agents, teams and tasks outputs are also their tables' changelogs, so they take the partition count
 * of the event topic each table reads (`eventPartitions`, by family) when it is given.
 */
export function outputTopicSpecs(
  topics: Readonly<Record<OutputName, string>>,
  options: {
    partitions?: number
    retentionDays?: number
    eventPartitions?: Partial<Record<(typeof ENTITY_INPUTS)[keyof typeof ENTITY_INPUTS], number>>
  } = {},
): TopicSpec[] {
  return OUTPUT_NAMES.map((name) => {
    const { kind } = OUTPUTS[name]
    const family = name in ENTITY_INPUTS ? ENTITY_INPUTS[name as keyof typeof ENTITY_INPUTS] : undefined
    const sized = family === undefined ? undefined : options.eventPartitions?.[family]
    const days = options.retentionDays ?? (name === 'alerts' || name === 'dataQuality' ? 14 : 7)
    const retention = String(days * DAY_MS)
    const configs: Record<string, string> =
      kind === 'snapshot'
        ? { 'cleanup.policy': 'compact' }
        : kind === 'windowed'
          ? { 'cleanup.policy': 'compact,delete', 'retention.ms': retention }
          : { 'cleanup.policy': 'delete', 'retention.ms': retention }
    return { name: topics[name], partitions: sized ?? options.partitions ?? 8, configs }
  })
}

/** Each output's schema with its topic: what provisioning registers under `<topic>-value`. */
export function outputSubjects(
  topics: Readonly<Record<OutputName, string>>,
): { schemas: FamilySchemas<OutputSchemaName>; topic: string }[] {
  return OUTPUT_NAMES.map((name) => ({ schemas: outputSchema(OUTPUTS[name].schema), topic: topics[name] }))
}
