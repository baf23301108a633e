// The Agent Party topology's output topics, in one table: each output's default topic, the Avro schema
// of its values (schemas/avro/outputs/<name>.avsc, registered under `<topic>-value`) and its kind,
// which decides the topic's cleanup policy:
// - `snapshot`: the latest full state of an entity keyed by its id: compacted, kept forever;
// - `windowed`: a windowed aggregate keyed by (group key, window start), emitted on update: compacted
//   (a window's last value is what counts) and deleted after the retention;
// - `event`: one record per occurrence (alerts, data-quality findings, attributions): deleted after
//   the retention.
import type { TopicSpec } from '../kafka/topics.js'
import type { OutputSchemaName } from '../schemas/index.js'

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
  agents: output('agents', 'snapshot'),
  teams: output('teams', 'snapshot'),
  tasks: output('tasks', 'snapshot'),
  agentInstantiations: output('agent_instantiations', 'windowed'),
  teamFormations: output('team_formations', 'windowed'),
  taskOutcomes: output('task_outcomes', 'windowed'),
  tokensByAgent: output('tokens_by_agent', 'windowed'),
  tokensByTeam: output('tokens_by_team', 'windowed'),
  tokensByTemplate: output('tokens_by_template', 'windowed'),
} as const satisfies Record<string, OutputSpec>

export type OutputName = keyof typeof OUTPUTS

export const OUTPUT_NAMES = Object.freeze(Object.keys(OUTPUTS) as OutputName[])

const DAY_MS = 24 * 60 * 60 * 1000

/** The topic of each output as created by provisioning (8 partitions, as the entity topics). */
export function outputTopicSpecs(
  topics: Readonly<Record<OutputName, string>>,
  options: { partitions?: number; retentionDays?: number } = {},
): TopicSpec[] {
  const retention = String((options.retentionDays ?? 7) * DAY_MS)
  return OUTPUT_NAMES.map((name) => {
    const { kind } = OUTPUTS[name]
    const configs: Record<string, string> =
      kind === 'snapshot'
        ? { 'cleanup.policy': 'compact' }
        : kind === 'windowed'
          ? { 'cleanup.policy': 'compact,delete', 'retention.ms': retention }
          : { 'cleanup.policy': 'delete', 'retention.ms': retention }
    return { name: topics[name], partitions: options.partitions ?? 8, configs }
  })
}
