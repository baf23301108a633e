// The Agent Party topology, built only with the engine's public DSL: so far the data-quality
// deduplication and the agent table with its snapshot output (issue 8 builds the rest on it).
import type { AgentEvent } from '../schemas/index.js'
import { type Serde, Serdes, StreamsBuilder, type Topology } from '../topology/index.js'
import type { ProcessorConfig } from './config.js'
import { dropDuplicates } from './dedup.js'
import { type AgentSnapshot, agentTable } from './entities/agents.js'

export interface ProcessorSerdes {
  readonly agentEvents: Serde<AgentEvent>
  /** The snapshot output's encoding: JSON until the output topics get their Avro schemas. */
  readonly agentSnapshot: Serde<AgentSnapshot>
}

export interface ProcessorHooks {
  /** A duplicate event dropped (a metric). */
  onDuplicate?(topic: string, eventId: string): void
}

export function agentPartyTopology(
  config: ProcessorConfig,
  serdes: ProcessorSerdes,
  hooks: ProcessorHooks = {},
): Topology {
  const key = Serdes.String()
  const builder = new StreamsBuilder()
  const agentTopic = config.inputTopics.agent_events
  const agentEvents = dropDuplicates(
    builder,
    builder.stream<string, AgentEvent>(agentTopic, { keySerde: key, valueSerde: serdes.agentEvents }),
    {
      name: 'agent-events-dedup',
      keySerde: key,
      horizonMs: config.dedupHorizonMs,
      eventId: (e) => e.event_id,
      eventTime: (e) => e.occurred_at,
      onDuplicate: (_key, e) => hooks.onDuplicate?.(agentTopic, e.event_id),
    },
  )
  agentTable(agentEvents, { key, snapshot: serdes.agentSnapshot })
    .toStream()
    .to(config.outputTopics.agents, { keySerde: key, valueSerde: serdes.agentSnapshot })
  return builder.build()
}
