// The team table: each team's full current state, folded from team_events (keyed by team id, after
// duplicates are dropped), emitted as a whole snapshot on every change. A disbanded team stays, with
// status DISBANDED. The disbanding can be reported late (after events with a later event time), so
// the status only moves forward (REQUESTED < FORMED or FORMATION_FAILED < DISBANDED).

import type {
  MemberJoined,
  MemberLeft,
  TeamDisbanded,
  TeamEvent,
  TeamFormationFailed,
  TeamFormationRequested,
  TeamFormed,
  TeamMember,
} from '../../schemas/index.js'
import { payloadName, payloadOf } from '../../schemas/payload.js'
import { type KStream, type KTable, Materialized, type Serde } from '../../topology/index.js'

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

/** The team table, materialized as `teams`. */
export function teamTable(
  events: KStream<string, TeamEvent>,
  serdes: { key: Serde<string>; snapshot: Serde<TeamSnapshot> },
): KTable<string, TeamSnapshot> {
  return events.groupByKey().aggregate<TeamSnapshot>(
    () => emptyTeam(''),
    (teamId, event, team) => applyTeamEvent(team.team_id === '' ? emptyTeam(teamId) : team, event),
    Materialized.as<string, TeamSnapshot>('teams').withKeySerde(serdes.key).withValueSerde(serdes.snapshot),
  )
}
