// Team attribution: each task outcome (the task table's snapshot whose event set the outcome) re-keyed
// by its team and joined with the team table as it stands when the outcome is processed, so that the
// task's tokens are attributed to the team and to each of its members (with their roles). Agents that
// used tokens on the task without being members of the team at that time are listed too, flagged,
// rather than dropped: their tokens stay visible. A per-team windowed aggregate (outcomes and tokens)
// is folded from the attributed outcomes, in the windows of each outcome's event time.
//
// A task without a team (cancelled before assignment) is keyed by `UNKNOWN`, a key no team table row
// has, so it is attributed to no team (team_id null) and counted under that key in the aggregate.

import {
  type KStream,
  type KTable,
  Materialized,
  type Serde,
  Serdes,
  TimeWindows,
} from '../../topology/index.js'
import { ProcessorConfigError, wholeMs } from '../config-error.js'
import type { TaskSnapshot } from '../entities/tasks.js'
import type { TeamSnapshot } from '../entities/teams.js'
import { windowedKey } from '../windowed-key.js'

/** The key of outcomes of tasks without a team, in the join and in the per-team aggregate. */
export const NO_TEAM_KEY = 'UNKNOWN'

export interface TeamTaskMember {
  agent_id: string
  /** The member's role in the team; null for an agent that used tokens but is not a member. */
  role: string | null
  /** Tokens the agent used on the task (0 for a member that used none). */
  tokens_used: number
  /** False for an agent that used tokens on the task without being a member of the team then. */
  member: boolean
}

/** One record per task outcome, keyed by task id (output `agent_party.team_task_attribution`). */
export interface TeamTaskAttribution {
  task_id: string
  /** COMPLETED, FAILED or CANCELLED. */
  status: string
  priority: string | null
  /** The team the task was assigned to; null when the task had none. */
  team_id: string | null
  /** Whether the team table knew the team when the outcome was processed. */
  team_known: boolean
  /** Event time of the outcome. */
  finished_at: number | null
  tokens_used: number
  /** Tokens used by members of the team. */
  member_tokens: number
  /** Tokens used by agents that were not members of the team. */
  non_member_tokens: number
  /** The team's members (sorted by agent id), then the non-members that used tokens (sorted). */
  members: TeamTaskMember[]
}

/** Outcomes and tokens per team and window (output `agent_party.team_task_outcomes`). */
export interface TeamTaskOutcomes {
  /** Null for the outcomes of tasks without a team (key `UNKNOWN`). */
  team_id: string | null
  window_start: number
  window_end: number
  completed: number
  failed: number
  cancelled: number
  tokens_used: number
  non_member_tokens: number
}

export interface TeamAttributionOptions {
  /** Size of the per-team windows, ms. Default 60 000 (1 min). */
  readonly windowMs?: number
  /** How long after its end a window still takes late outcomes, ms. Default 30 000. */
  readonly graceMs?: number
  /** Hopping windows start every `advanceMs` (0 < advance <= size). Default: the size (tumbling). */
  readonly advanceMs?: number
}

export interface TeamAttributionOutputs {
  /** Keyed by task id (string). */
  readonly attribution: string
  /** Keyed by `WindowedSerdes.timeWindowed(Serdes.String(), windowMs)` of the team id. */
  readonly outcomes: string
}

export interface TeamAttributionSerdes {
  readonly attribution: Serde<TeamTaskAttribution>
  readonly outcomes: Serde<TeamTaskOutcomes>
}

const OUTCOMES = new Set(['COMPLETED', 'FAILED', 'CANCELLED'])

/** The windows of the per-team aggregate; a bad option throws ProcessorConfigError naming it. */
export function teamOutcomeWindows(options: TeamAttributionOptions = {}): TimeWindows {
  const size = wholeMs('teamTaskOutcomes.windowMs', options.windowMs ?? 60_000, 1)
  const grace = wholeMs('teamTaskOutcomes.graceMs', options.graceMs ?? 30_000, 0)
  const advance = wholeMs('teamTaskOutcomes.advanceMs', options.advanceMs ?? size, 1)
  if (advance > size) {
    throw new ProcessorConfigError('teamTaskOutcomes.advanceMs', advance, `at most the window size ${size}`)
  }
  return TimeWindows.ofSizeAndGrace(size, grace).advanceBy(advance)
}

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** One outcome snapshot attributed to the team as the table has it (null: the table does not know it). */
export function attribute(task: TaskSnapshot, team: TeamSnapshot | null): TeamTaskAttribution {
  const tokens = task.tokens_by_agent
  const members: TeamTaskMember[] = []
  const isMember = new Set<string>()
  let memberTokens = 0
  for (const m of team?.members ?? []) {
    if (isMember.has(m.agent_id)) continue
    isMember.add(m.agent_id)
    const used = tokens[m.agent_id] ?? 0
    memberTokens += used
    members.push({ agent_id: m.agent_id, role: m.role, tokens_used: used, member: true })
  }
  members.sort((a, b) => byId(a.agent_id, b.agent_id))
  let nonMemberTokens = 0
  for (const agent of Object.keys(tokens).sort(byId)) {
    if (isMember.has(agent)) continue
    const used = tokens[agent] ?? 0
    nonMemberTokens += used
    members.push({ agent_id: agent, role: null, tokens_used: used, member: false })
  }
  return {
    task_id: task.task_id,
    status: task.status,
    priority: task.priority,
    team_id: task.team_id,
    team_known: team !== null,
    finished_at: task.finished_at,
    tokens_used: task.tokens_used,
    member_tokens: memberTokens,
    non_member_tokens: nonMemberTokens,
    members,
  }
}

type Counts = Omit<TeamTaskOutcomes, 'team_id' | 'window_start' | 'window_end'>

function addOutcome(counts: Counts, a: TeamTaskAttribution): Counts {
  return {
    completed: counts.completed + (a.status === 'COMPLETED' ? 1 : 0),
    failed: counts.failed + (a.status === 'FAILED' ? 1 : 0),
    cancelled: counts.cancelled + (a.status === 'CANCELLED' ? 1 : 0),
    tokens_used: counts.tokens_used + a.tokens_used,
    non_member_tokens: counts.non_member_tokens + a.non_member_tokens,
  }
}

/**
 * Attributes each task outcome to its team and members (`outputs.attribution`, keyed by task id) and
 * aggregates outcomes and tokens per team and window (`outputs.outcomes`). Inputs: the task table's
 * snapshot stream (keyed by task id) and the team table (keyed by team id). Adds the repartition topic
 * `<applicationId>-join-outcomes-by-team-left-repartition` (outcomes keyed by team id, co-partitioned
 * with the team table) and the window store `join-team-task-outcomes`. Returns the attributed stream,
 * keyed by team id.
 */
export function teamTaskAttribution(
  taskSnapshots: KStream<string, TaskSnapshot | null>,
  teams: KTable<string, TeamSnapshot>,
  options: TeamAttributionOptions,
  outputs: TeamAttributionOutputs,
  serdes: TeamAttributionSerdes,
): KStream<string, TeamTaskAttribution> {
  const windows = teamOutcomeWindows(options)
  const str = Serdes.String()
  const attributed = taskSnapshots
    .filter((_id, t) => t?.outcome_event === true && OUTCOMES.has(t.status), {
      name: 'join-outcome-snapshots',
    })
    .selectKey<string>((_id, t) => t?.team_id ?? NO_TEAM_KEY, { name: 'join-outcome-team-key' })
    .leftJoin(teams, (task, team) => attribute(task as TaskSnapshot, team), {
      name: 'join-outcomes-by-team',
      keySerde: str,
      valueSerde: Serdes.Json<TaskSnapshot | null>(),
    })
  attributed
    .selectKey((_team, a) => a.task_id, { name: 'join-attribution-task-key' })
    .to(outputs.attribution, { keySerde: str, valueSerde: serdes.attribution, name: 'join-attribution-sink' })
  attributed
    .groupByKey({ keySerde: str, valueSerde: Serdes.Json<TeamTaskAttribution>() })
    .windowedBy(windows)
    .aggregate<Counts>(
      () => ({ completed: 0, failed: 0, cancelled: 0, tokens_used: 0, non_member_tokens: 0 }),
      (_team, a, counts) => addOutcome(counts, a),
      Materialized.as<string, Counts>('join-team-task-outcomes').withValueSerde(Serdes.Json<Counts>()),
    )
    .toStream({ name: 'join-team-task-outcomes-changes' })
    .mapValues(
      (counts, key): TeamTaskOutcomes | null =>
        counts === null
          ? null
          : {
              team_id: key.key === NO_TEAM_KEY ? null : key.key,
              window_start: key.window.start,
              window_end: key.window.end,
              ...counts,
            },
      { name: 'join-team-task-outcomes-values' },
    )
    .to(outputs.outcomes, {
      keySerde: windowedKey(windows),
      valueSerde: serdes.outcomes as Serde<TeamTaskOutcomes | null>,
      name: 'join-team-task-outcomes-sink',
    })
  return attributed
}
