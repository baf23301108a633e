// The agent table: every agent's full current state, folded from its events (agent_events, keyed by
// agent id, after duplicates are dropped). Each update goes out as a whole snapshot keyed by agent id,
// never a delta, so that a sink can apply any snapshot twice, or those of a replay, and converge. A
// terminated agent stays, with status TERMINATED. (Its current team comes from team events: a later
// part of the topology.)

import type {
  AgentCreated,
  AgentEvent,
  AgentStatusChanged,
  AgentTerminated,
  Capability,
  CapabilityAdded,
  CapabilityRemoved,
} from '../../schemas/index.js'
import { payloadName, payloadOf } from '../../schemas/payload.js'
import { type KStream, type KTable, Materialized, type Serde } from '../../topology/index.js'

export type AgentState = 'IDLE' | 'BUSY' | 'OFFLINE' | 'UNKNOWN' | 'TERMINATED'

export interface AgentSnapshot {
  agent_id: string
  status: AgentState
  /** Null until AgentCreated is seen (an event of an agent whose creation is older than the log). */
  template_id: string | null
  version: number | null
  name: string | null
  model: string | null
  /** Sorted by name. */
  capabilities: Capability[]
  terminated_reason: string | null
  created_at: number | null
  /** The largest occurred_at applied. */
  updated_at: number
  last_event_id: string
  /** Events applied (duplicates excluded). */
  events: number
}

export function emptyAgent(agentId: string): AgentSnapshot {
  return {
    agent_id: agentId,
    status: 'UNKNOWN',
    template_id: null,
    version: null,
    name: null,
    model: null,
    capabilities: [],
    terminated_reason: null,
    created_at: null,
    updated_at: 0,
    last_event_id: '',
    events: 0,
  }
}

function withCapability(capabilities: readonly Capability[], added: Capability): Capability[] {
  return [...capabilities.filter((c) => c.name !== added.name), added].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  )
}

/** One event applied to an agent's snapshot (a new object: snapshots are values, never mutated). */
export function applyAgentEvent(agent: AgentSnapshot, event: AgentEvent): AgentSnapshot {
  const next: AgentSnapshot = {
    ...agent,
    updated_at: Math.max(agent.updated_at, event.occurred_at),
    last_event_id: event.event_id,
    events: agent.events + 1,
  }
  switch (payloadName(event.payload)) {
    case 'AgentCreated': {
      const created = payloadOf<AgentCreated>(event.payload)
      next.template_id = created.template_id
      next.version = created.version
      next.name = created.name
      next.model = created.model
      next.capabilities = [...created.capabilities].sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
      )
      next.created_at = event.occurred_at
      if (agent.status === 'UNKNOWN') next.status = 'IDLE'
      break
    }
    case 'AgentStatusChanged':
      // A terminated agent stays terminated (a later status change is a data-quality finding).
      if (agent.status !== 'TERMINATED') next.status = payloadOf<AgentStatusChanged>(event.payload).status
      break
    case 'CapabilityAdded':
      next.capabilities = withCapability(
        agent.capabilities,
        payloadOf<CapabilityAdded>(event.payload).capability,
      )
      break
    case 'CapabilityRemoved': {
      const name = payloadOf<CapabilityRemoved>(event.payload).capability_name
      next.capabilities = agent.capabilities.filter((c) => c.name !== name)
      break
    }
    case 'AgentTerminated':
      next.status = 'TERMINATED'
      next.terminated_reason = payloadOf<AgentTerminated>(event.payload).reason
      break
  }
  return next
}

/** The agent table, materialized as `agents` (changelog `<applicationId>-agents-changelog`). */
export function agentTable(
  events: KStream<string, AgentEvent>,
  serdes: { key: Serde<string>; snapshot: Serde<AgentSnapshot> },
): KTable<string, AgentSnapshot> {
  return events.groupByKey().aggregate<AgentSnapshot>(
    () => emptyAgent(''),
    (agentId, event, agent) => applyAgentEvent(agent.agent_id === '' ? emptyAgent(agentId) : agent, event),
    Materialized.as<string, AgentSnapshot>('agents').withKeySerde(serdes.key).withValueSerde(serdes.snapshot),
  )
}
