// The team table: each team's full current state, folded from team_events (keyed by team id, after
// duplicates are dropped), emitted as a whole snapshot (the last of each team per commit). A disbanded team stays, with
// status DISBANDED. The disbanding can be reported late (after events with a later event time), so
// the status only moves forward (REQUESTED < FORMED or FORMATION_FAILED < DISBANDED).
//
// Each fold step also says whose membership the event changed: an agent is in a team while the team is
// FORMED and lists it, so TeamFormed, MemberJoined, MemberLeft and TeamDisbanded become joins and
// leaves keyed by agent id, which the agent table folds into its agents' current team (agents.ts).
// MemberLeft of a non-member, a second MemberJoined and member changes of a team that is not formed
// are data-quality findings (data-quality.ts).

import type {
  MemberJoined,
  MemberLeft,
  TeamDisbanded,
  TeamEvent,
  TeamFormationFailed,
  TeamFormationRequested,
  TeamFormed,
  TeamMember,
  TeamRole,
} from '../../schemas/index.js'
import { payloadName, payloadOf } from '../../schemas/payload.js'
import { type KStream, type KTable, type Serde, Serdes } from '../../topology/index.js'
import { type DataQualityIssue, type EntityStoreOptions, entityTable, type Folded } from '../data-quality.js'

export type TeamState = 'UNKNOWN' | 'REQUESTED' | 'FORMED' | 'FORMATION_FAILED' | 'DISBANDED'

const RANK: Record<TeamState, number> = {
  UNKNOWN: 0,
  REQUESTED: 1,
  FORMED: 2,
  FORMATION_FAILED: 2,
  DISBANDED: 3,
}

export interface TeamSnapshot {
  team_id: string
  status: TeamState
  task_id: string | null
  required_capabilities: string[]
  /** Current members with their roles, sorted by agent id. */
  members: TeamMember[]
  formation_score: number | null
  inference_time_ms: number | null
  failure_reason: string | null
  disband_reason: string | null
  requested_at: number | null
  formed_at: number | null
  updated_at: number
  events: number
}

export function emptyTeam(teamId: string): TeamSnapshot {
  return {
    team_id: teamId,
    status: 'UNKNOWN',
    task_id: null,
    required_capabilities: [],
    members: [],
    formation_score: null,
    inference_time_ms: null,
    failure_reason: null,
    disband_reason: null,
    requested_at: null,
    formed_at: null,
    updated_at: 0,
    events: 0,
  }
}

const byAgent = (a: TeamMember, b: TeamMember) =>
  a.agent_id < b.agent_id ? -1 : a.agent_id > b.agent_id ? 1 : 0

function advance(team: TeamSnapshot, status: TeamState): TeamState {
  return RANK[status] > RANK[team.status] ? status : team.status
}

export function applyTeamEvent(team: TeamSnapshot, event: TeamEvent): TeamSnapshot {
  const next: TeamSnapshot = {
    ...team,
    updated_at: Math.max(team.updated_at, event.occurred_at),
    events: team.events + 1,
  }
  switch (payloadName(event.payload)) {
    case 'TeamFormationRequested': {
      const requested = payloadOf<TeamFormationRequested>(event.payload)
      next.task_id = requested.task_id
      next.required_capabilities = [...requested.required_capabilities]
      next.requested_at = event.occurred_at
      next.status = advance(team, 'REQUESTED')
      break
    }
    case 'TeamFormed': {
      const formed = payloadOf<TeamFormed>(event.payload)
      next.task_id = formed.task_id
      next.members = [...formed.members].sort(byAgent)
      next.formation_score = formed.formation_score
      next.inference_time_ms = formed.inference_time_ms
      next.formed_at = event.occurred_at
      next.status = advance(team, 'FORMED')
      break
    }
    case 'TeamFormationFailed': {
      const failed = payloadOf<TeamFormationFailed>(event.payload)
      next.task_id = failed.task_id
      next.failure_reason = failed.reason
      next.status = advance(team, 'FORMATION_FAILED')
      break
    }
    case 'MemberJoined': {
      const member = payloadOf<MemberJoined>(event.payload).member
      next.members = [...team.members.filter((m) => m.agent_id !== member.agent_id), member].sort(byAgent)
      break
    }
    case 'MemberLeft': {
      const left = payloadOf<MemberLeft>(event.payload).agent_id
      next.members = team.members.filter((m) => m.agent_id !== left)
      break
    }
    case 'TeamDisbanded':
      next.disband_reason = payloadOf<TeamDisbanded>(event.payload).reason
      next.status = 'DISBANDED'
      break
  }
  return next
}

/** One agent joining (role set) or leaving (role null) a team, keyed by agent id. */
export interface MembershipChange {
  agent_id: string
  team_id: string
  /** The agent's role from now on; null when it leaves (MemberLeft, TeamDisbanded). */
  role: TeamRole | null
  /** The team event that caused it. */
  event_id: string
  event_type: string
  occurred_at: number
}

const NO_CHANGES: readonly MembershipChange[] = Object.freeze([])

/** The members an agent belongs to the team as: those of a formed team. */
function effectiveMembers(team: TeamSnapshot): readonly TeamMember[] {
  return team.status === 'FORMED' ? team.members : []
}

/** The joins, role changes and leaves between two states of a team, caused by `event`. */
export function membershipChanges(
  before: TeamSnapshot,
  after: TeamSnapshot,
  event: TeamEvent,
): readonly MembershipChange[] {
  const was = new Map(effectiveMembers(before).map((m) => [m.agent_id, m.role]))
  const is = effectiveMembers(after)
  if (was.size === 0 && is.length === 0) return NO_CHANGES
  const change = (agent_id: string, role: TeamRole | null): MembershipChange => ({
    agent_id,
    team_id: event.team_id,
    role,
    event_id: event.event_id,
    event_type: payloadName(event.payload),
    occurred_at: event.occurred_at,
  })
  const changes: MembershipChange[] = []
  for (const m of is) {
    if (was.get(m.agent_id) !== m.role) changes.push(change(m.agent_id, m.role))
    was.delete(m.agent_id)
  }
  for (const agentId of was.keys()) changes.push(change(agentId, null))
  return changes.length === 0 ? NO_CHANGES : changes
}

/** The finding a team event makes against the team's state before it (null when none). */
export function checkTeamEvent(team: TeamSnapshot, event: TeamEvent): DataQualityIssue | null {
  const type = payloadName(event.payload)
  if (type !== 'MemberJoined' && type !== 'MemberLeft') return null
  const agentId =
    type === 'MemberJoined'
      ? payloadOf<MemberJoined>(event.payload).member.agent_id
      : payloadOf<MemberLeft>(event.payload).agent_id
  const issue = (reason: DataQualityIssue['reason'], detail: string): DataQualityIssue => ({
    reason,
    family: 'team_events',
    entity_type: 'team',
    entity_id: event.team_id,
    event_id: event.event_id,
    event_type: type,
    occurred_at: event.occurred_at,
    detail,
  })
  if (team.status !== 'FORMED')
    return issue('TEAM_NOT_FORMED', `${type} of agent ${agentId} in a ${team.status} team`)
  const member = team.members.some((m) => m.agent_id === agentId)
  if (type === 'MemberJoined' && member)
    return issue('ALREADY_A_MEMBER', `agent ${agentId} is a member already`)
  if (type === 'MemberLeft' && !member) return issue('NOT_A_MEMBER', `agent ${agentId} is not a member`)
  return null
}

/** A team fold step: the snapshot, the event's finding and the memberships it changed. */
export interface FoldedTeam extends Folded<TeamSnapshot> {
  readonly changes: readonly MembershipChange[]
}

export interface TeamEntities {
  /** The team table: full snapshots keyed by team id. */
  readonly table: KTable<string, TeamSnapshot>
  /**
   * The membership changes keyed by agent id, through the repartition topic
   * `<applicationId>-dq-memberships-by-agent-repartition`, for agentEntities.
   */
  readonly memberships: KStream<string, MembershipChange>
  /** The findings of the team events, keyed by team id. */
  readonly dataQuality: KStream<string, DataQualityIssue>
}

export interface TeamEntitiesOptions {
  /** The membership changes' serde on their repartition topic. Default JSON. */
  readonly membershipSerde?: Serde<MembershipChange>
}

/**
 * The team table (entityTable: store `teams` holding the snapshots with a record cache, its changelog
 * `serdes.output` when given, else `<applicationId>-teams-changelog`), its findings and the membership
 * changes of every fold step, re-keyed by agent id.
 */
export function teamEntities(
  events: KStream<string, TeamEvent>,
  serdes: EntityStoreOptions<TeamSnapshot>,
  options: TeamEntitiesOptions = {},
): TeamEntities {
  const { steps, table } = entityTable(events, 'teams', serdes, (teamId, previous, event: TeamEvent) => {
    const team = previous ?? emptyTeam(teamId)
    const next = applyTeamEvent(team, event)
    return {
      snapshot: next,
      issue: checkTeamEvent(team, event),
      changes: membershipChanges(team, next, event),
    }
  })
  return {
    table,
    memberships: steps
      .flatMap((_teamId, f) => f.changes.map((c) => [c.agent_id, c] as const), { name: 'dq-memberships' })
      .repartition({
        name: 'dq-memberships-by-agent',
        keySerde: serdes.key,
        valueSerde: options.membershipSerde ?? Serdes.Json<MembershipChange>(),
      }),
    dataQuality: steps.flatMapValues((f) => (f.issue ? [f.issue] : []), { name: 'dq-teams-findings' }),
  }
}
