// The agent table: every agent's full current state, folded from its events (agent_events, keyed by
// agent id, after duplicates are dropped). Each update goes out as a whole snapshot keyed by agent id
// (the last of each agent per commit: the table has a record cache),
// never a delta, so that a sink can apply any snapshot twice, or those of a replay, and converge. A
// terminated agent stays, with status TERMINATED.
//
// Its current team comes from the team table's membership changes (teams.ts), re-keyed by agent id and
// folded together with the agent events (agentEntities): both streams are merged, as one union type,
// into the one fold. A change older (event time) than the one that set the current team is
// stale and ignored, and a leave only clears the team it names, so a disbanding reported late, or a
// team formed on another partition and processed first, does not undo a newer membership. The merge
// needs the membership repartition topic to have as many partitions as agent_events: the runtime sizes
// it so when the agent table is joined with a stream (tokensPerTemplate's join puts both in one
// co-partition group), otherwise like team_events (8 partitions each, as provisioned). A status or capability change of a terminated agent, and a team member the table
// has not seen created or that is terminated, are data-quality findings (data-quality.ts).

import type {
  AgentCreated,
  AgentEvent,
  AgentStatusChanged,
  AgentTerminated,
  Capability,
  CapabilityAdded,
  CapabilityRemoved,
  TeamRole,
} from '../../schemas/index.js'
import { payloadName, payloadOf } from '../../schemas/payload.js'
import type { KStream, KTable } from '../../topology/index.js'
import { type DataQualityIssue, type EntityStoreOptions, entityTable, type Folded } from '../data-quality.js'
import type { MembershipChange } from './teams.js'

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
  /** The formed team the agent is a member of, from the team events; null when none. */
  team_id: string | null
  team_role: TeamRole | null
  /**
   * Event time of the membership change that set team_id and team_role (a join, or the leave that
   * cleared them); null before any.
   */
  team_since: number | null
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
    team_id: null,
    team_role: null,
    team_since: null,
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

/** A membership change applied to the agent's current team (stale changes leave it as it is). */
export function applyMembership(agent: AgentSnapshot, change: MembershipChange): AgentSnapshot {
  if (agent.team_since !== null && change.occurred_at < agent.team_since) return agent
  if (change.role !== null) {
    return { ...agent, team_id: change.team_id, team_role: change.role, team_since: change.occurred_at }
  }
  if (agent.team_id !== change.team_id) return agent
  return { ...agent, team_id: null, team_role: null, team_since: change.occurred_at }
}

const TERMINATED_CHANGES = new Set(['AgentStatusChanged', 'CapabilityAdded', 'CapabilityRemoved'])

/** The finding an agent event makes against the agent's state before it (null when none). */
export function checkAgentEvent(agent: AgentSnapshot, event: AgentEvent): DataQualityIssue | null {
  const type = payloadName(event.payload)
  if (agent.status !== 'TERMINATED' || !TERMINATED_CHANGES.has(type)) return null
  return {
    reason: 'TERMINATED_AGENT_CHANGE',
    family: 'agent_events',
    entity_type: 'agent',
    entity_id: event.agent_id,
    event_id: event.event_id,
    event_type: type,
    occurred_at: event.occurred_at,
    detail: `${type} of an agent terminated (${agent.terminated_reason ?? 'no reason'})`,
  }
}

/** The finding of a team membership against the agent table: a join of an unknown or terminated agent. */
export function checkMembership(agent: AgentSnapshot, change: MembershipChange): DataQualityIssue | null {
  if (change.role === null) return null
  const unknown = agent.created_at === null
  if (!unknown && agent.status !== 'TERMINATED') return null
  return {
    reason: unknown ? 'UNKNOWN_AGENT_MEMBER' : 'TERMINATED_AGENT_MEMBER',
    family: 'team_events',
    entity_type: 'agent',
    entity_id: change.agent_id,
    event_id: change.event_id,
    event_type: change.event_type,
    occurred_at: change.occurred_at,
    detail: `${change.role} of team ${change.team_id}, ${unknown ? 'not seen created' : 'terminated'}`,
  }
}

/** What the agent fold reads: an agent event or a membership change of the agent. */
export type AgentInput =
  | { readonly kind: 'event'; readonly event: AgentEvent }
  | { readonly kind: 'membership'; readonly change: MembershipChange }

/** One agent fold step: the snapshot after `input` and its finding. */
export function foldAgent(
  agentId: string,
  previous: AgentSnapshot | null,
  input: AgentInput,
): Folded<AgentSnapshot> {
  const agent = previous === null || previous.agent_id === '' ? emptyAgent(agentId) : previous
  return input.kind === 'event'
    ? { snapshot: applyAgentEvent(agent, input.event), issue: checkAgentEvent(agent, input.event) }
    : { snapshot: applyMembership(agent, input.change), issue: checkMembership(agent, input.change) }
}

export interface AgentEntities {
  /** The agent table: full snapshots keyed by agent id, current team included. */
  readonly table: KTable<string, AgentSnapshot>
  /** The findings of the agent events and of the memberships, keyed by agent id. */
  readonly dataQuality: KStream<string, DataQualityIssue>
}

/**
 * The agent table folded from the agent events and, when given, the membership changes
 * (teamEntities().memberships, keyed by agent id), with its findings (entityTable). The store is
 * `agents`, holding the snapshots with a record cache; its changelog is `serdes.output` when given,
 * else `<applicationId>-agents-changelog`.
 */
export function agentEntities(
  events: KStream<string, AgentEvent>,
  memberships: KStream<string, MembershipChange> | undefined,
  serdes: EntityStoreOptions<AgentSnapshot>,
): AgentEntities {
  const own = events.mapValues((event): AgentInput => ({ kind: 'event', event }), { name: 'dq-agent-events' })
  const inputs =
    memberships === undefined
      ? own
      : own.merge(
          memberships.mapValues((change): AgentInput => ({ kind: 'membership', change }), {
            name: 'dq-agent-memberships',
          }),
          { name: 'dq-agent-inputs' },
        )
  const { steps, table } = entityTable(inputs, 'agents', serdes, foldAgent)
  return {
    table,
    dataQuality: steps.flatMapValues((f) => (f.issue ? [f.issue] : []), { name: 'dq-agents-findings' }),
  }
}
