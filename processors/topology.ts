// The Agent Party topology, built only with the engine's public DSL: so far the data-quality
// deduplication of the event topics and the entity tables (agents, teams, tasks) with their snapshot
// outputs (issue 8 builds the windowed metrics, joins and alerts on them).
import type { AgentEvent, EventFamily, TaskEvent, TeamEvent } from '../schemas/index.js'
import {
  type KStream,
  type Serde,
  Serdes,
  StreamsBuilder,
  TimeWindows,
  type Topology,
} from '../topology/index.js'
import type { ProcessorConfig } from './config.js'
import { dropDuplicates } from './dedup.js'
import { type AgentSnapshot, agentTable } from './entities/agents.js'
import { type TaskSnapshot, taskTable } from './entities/tasks.js'
import { type TeamSnapshot, teamTable } from './entities/teams.js'
import {
  agentInstantiations,
  formationOutcomes,
  taskOutcomes,
  tokenConsumption,
  tokensPerTemplate,
} from './metrics/business.js'

export interface ProcessorSerdes {
  readonly agentEvents: Serde<AgentEvent>
  readonly teamEvents: Serde<TeamEvent>
  readonly taskEvents: Serde<TaskEvent>
  /** The snapshot outputs' encoding: JSON until the output topics get their Avro schemas. */
  readonly agentSnapshot: Serde<AgentSnapshot>
  readonly teamSnapshot: Serde<TeamSnapshot>
  readonly taskSnapshot: Serde<TaskSnapshot>
}

export interface ProcessorHooks {
  /** A duplicate event dropped (a metric). */
  onDuplicate?(topic: string, eventId: string): void
}

interface Envelope {
  event_id: string
  occurred_at: number
}

export function agentPartyTopology(
  config: ProcessorConfig,
  serdes: ProcessorSerdes,
  hooks: ProcessorHooks = {},
): Topology {
  const key = Serdes.String()
  const builder = new StreamsBuilder()
  // Each event topic, read once, without the second copies of an event.
  const events = <E extends Envelope>(family: EventFamily, valueSerde: Serde<E>): KStream<string, E> => {
    const topic = config.inputTopics[family]
    return dropDuplicates(builder, builder.stream<string, E>(topic, { keySerde: key, valueSerde }), {
      name: `${family.replace('_', '-')}-dedup`,
      keySerde: key,
      horizonMs: config.dedupHorizonMs,
      eventId: (e) => e.event_id,
      eventTime: (e) => e.occurred_at,
      onDuplicate: (_key, e) => hooks.onDuplicate?.(topic, e.event_id),
    })
  }
  const outputs = config.outputTopics
  const windows = TimeWindows.ofSizeAndGrace(config.metricsWindowMs, config.metricsGraceMs)
  const agentEvents = events('agent_events', serdes.agentEvents)
  const agents = agentTable(agentEvents, { key, snapshot: serdes.agentSnapshot })
  agents.toStream().to(outputs.agents, { keySerde: key, valueSerde: serdes.agentSnapshot })
  agentInstantiations(agentEvents, windows, outputs.agentInstantiations)
  const teamEvents = events('team_events', serdes.teamEvents)
  teamTable(teamEvents, { key, snapshot: serdes.teamSnapshot })
    .toStream()
    .to(outputs.teams, { keySerde: key, valueSerde: serdes.teamSnapshot })
  formationOutcomes(teamEvents, windows, outputs.teamFormations)
  const taskSnapshots = taskTable(events('task_events', serdes.taskEvents), {
    key,
    snapshot: serdes.taskSnapshot,
  }).toStream()
  taskSnapshots.to(outputs.tasks, { keySerde: key, valueSerde: serdes.taskSnapshot })
  taskOutcomes(taskSnapshots, windows, outputs.taskOutcomes)
  tokenConsumption(taskSnapshots, windows, { byAgent: outputs.tokensByAgent, byTeam: outputs.tokensByTeam })
  tokensPerTemplate(taskSnapshots, agents, windows, outputs.tokensByTemplate)
  return builder.build()
}
