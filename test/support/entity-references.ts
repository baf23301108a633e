// Deliberately naive references for the entity tables (plain loops over the event list, no DSL, no
// code shared with processors/), and the fields of a snapshot they are compared on. Used by the driver
// tests and by the run through the real runtime.
import {
  type DataQualityRecord,
  dataQualityOutput,
  type OnDataQuality,
} from '../../processors/data-quality.js'
import { dropDuplicates } from '../../processors/dedup.js'
import { type AgentSnapshot, agentEntities } from '../../processors/entities/agents.js'
import { type TaskSnapshot, taskEntities } from '../../processors/entities/tasks.js'
import { type TeamSnapshot, teamEntities } from '../../processors/entities/teams.js'
import type { AgentEvent, EventFamily, GeneratedRecord, TaskEvent, TeamEvent } from '../../schemas/index.js'
import { type Serde, Serdes, StreamsBuilder, type Topology } from '../../topology/index.js'

type Fields = Record<string, unknown>

/** The first copy of each event of a family, in arrival order or sorted by event time. */
export function distinctEvents<E extends { event_id: string; occurred_at: number }>(
  records: readonly GeneratedRecord[],
  family: EventFamily,
  order: 'arrival' | 'event-time',
): E[] {
  const seen = new Set<string>()
  const out: E[] = []
  for (const r of records) {
    if (r.family !== family) continue
    const e = r.event as unknown as E
    if (seen.has(e.event_id)) continue
    seen.add(e.event_id)
    out.push(e)
  }
  return order === 'arrival' ? out : out.sort((a, b) => a.occurred_at - b.occurred_at)
}

const kind = (payload: object) => (Object.keys(payload)[0] ?? '').split('.').pop()
const body = (payload: object) => Object.values(payload)[0] as Record<string, unknown>
const tokens = (t: unknown) => Object.values(t as Record<string, number>).reduce((a, b) => a + b, 0)

/** What an operator reading the agent events by hand would write down per agent. */
export function agentReference(events: readonly AgentEvent[]): Map<string, Fields> {
  const agents = new Map<string, Fields>()
  for (const e of events) {
    const a = agents.get(e.agent_id) ?? {
      status: 'UNKNOWN',
      template_id: null,
      name: null,
      capabilities: new Map<string, string>(),
      terminated_reason: null,
      updated_at: 0,
      events: 0,
    }
    const p = body(e.payload)
    switch (kind(e.payload)) {
      case 'AgentCreated':
        a.template_id = p.template_id
        a.name = p.name
        a.capabilities = new Map(
          (p.capabilities as { name: string; category: string }[]).map((c) => [c.name, c.category]),
        )
        if (a.status === 'UNKNOWN') a.status = 'IDLE'
        break
      case 'AgentStatusChanged':
        if (a.status !== 'TERMINATED') a.status = p.status
        break
      case 'CapabilityAdded': {
        const c = p.capability as { name: string; category: string }
        ;(a.capabilities as Map<string, string>).set(c.name, c.category)
        break
      }
      case 'CapabilityRemoved':
        ;(a.capabilities as Map<string, string>).delete(p.capability_name as string)
        break
      case 'AgentTerminated':
        a.status = 'TERMINATED'
        a.terminated_reason = p.reason
        break
    }
    a.updated_at = Math.max(a.updated_at as number, e.occurred_at)
    a.events = (a.events as number) + 1
    agents.set(e.agent_id, a)
  }
  return agents
}

export function agentFields(a: AgentSnapshot): Fields {
  return {
    status: a.status,
    template_id: a.template_id,
    name: a.name,
    capabilities: new Map(a.capabilities.map((c) => [c.name, c.category])),
    terminated_reason: a.terminated_reason,
    updated_at: a.updated_at,
    events: a.events,
  }
}

/** The task states the events give, read in event-time order. */
export function taskReference(events: readonly TaskEvent[]): Map<string, Fields> {
  const tasks = new Map<string, Fields>()
  for (const e of events) {
    const t = tasks.get(e.task_id) ?? {
      status: 'UNKNOWN',
      priority: null,
      team_id: null,
      tokens_used: 0,
      events: 0,
    }
    const p = body(e.payload)
    switch (kind(e.payload)) {
      case 'TaskCreated':
        t.priority = p.priority
        if (t.status === 'UNKNOWN') t.status = 'CREATED'
        break
      case 'TaskAssigned':
        t.team_id = p.team_id
        t.status = 'ASSIGNED'
        break
      case 'TaskStarted':
        t.status = 'RUNNING'
        break
      case 'TaskCompleted':
        t.status = 'COMPLETED'
        t.tokens_used = tokens(p.tokens_used)
        break
      case 'TaskFailed':
        t.status = 'FAILED'
        t.tokens_used = tokens(p.tokens_used)
        break
      case 'TaskCancelled':
        t.status = 'CANCELLED'
        break
    }
    t.events = (t.events as number) + 1
    tasks.set(e.task_id, t)
  }
  return tasks
}

export function taskFields(t: TaskSnapshot): Fields {
  return {
    status: t.status,
    priority: t.priority,
    team_id: t.team_id,
    tokens_used: t.tokens_used,
    events: t.events,
  }
}

/** The team states the events give, read in event-time order. */
export function teamReference(events: readonly TeamEvent[]): Map<string, Fields> {
  const teams = new Map<string, Fields>()
  for (const e of events) {
    const t = teams.get(e.team_id) ?? {
      status: 'UNKNOWN',
      task_id: null,
      members: new Map<string, string>(),
      events: 0,
    }
    const p = body(e.payload)
    const members = t.members as Map<string, string>
    switch (kind(e.payload)) {
      case 'TeamFormationRequested':
        t.task_id = p.task_id
        if (t.status === 'UNKNOWN') t.status = 'REQUESTED'
        break
      case 'TeamFormed':
        t.task_id = p.task_id
        t.status = 'FORMED'
        t.members = new Map(
          (p.members as { agent_id: string; role: string }[]).map((m) => [m.agent_id, m.role]),
        )
        break
      case 'TeamFormationFailed':
        t.status = 'FORMATION_FAILED'
        break
      case 'MemberJoined': {
        const m = p.member as { agent_id: string; role: string }
        members.set(m.agent_id, m.role)
        break
      }
      case 'MemberLeft':
        members.delete(p.agent_id as string)
        break
      case 'TeamDisbanded':
        t.status = 'DISBANDED'
        break
    }
    t.events = (t.events as number) + 1
    teams.set(e.team_id, t)
  }
  return teams
}

export function teamFields(t: TeamSnapshot): Fields {
  return {
    status: t.status,
    task_id: t.task_id,
    members: new Map(t.members.map((m) => [m.agent_id, m.role])),
    events: t.events,
  }
}

/**
 * Each agent's current team as the team events tell it, read in event-time order: a member of a formed
 * team from TeamFormed or MemberJoined, until MemberLeft names it or the team is disbanded; the latest
 * of these per agent wins. Agents the team events never name are absent.
 */
export function agentTeamReference(teamEvents: readonly TeamEvent[]): Map<string, Fields> {
  const sorted = [...teamEvents].sort((a, b) => a.occurred_at - b.occurred_at)
  // Per agent, what the team events say about it, in event-time order.
  const said = new Map<string, { at: number; team: string; role: string | null }[]>()
  const say = (agent: string, at: number, team: string, role: string | null) => {
    const list = said.get(agent) ?? []
    list.push({ at, team, role })
    said.set(agent, list)
  }
  const formed = new Set<string>()
  const members = new Map<string, Map<string, string>>()
  for (const e of sorted) {
    const p = body(e.payload)
    const team = members.get(e.team_id) ?? new Map<string, string>()
    members.set(e.team_id, team)
    switch (kind(e.payload)) {
      case 'TeamFormed':
        formed.add(e.team_id)
        team.clear()
        for (const m of p.members as { agent_id: string; role: string }[]) {
          team.set(m.agent_id, m.role)
          say(m.agent_id, e.occurred_at, e.team_id, m.role)
        }
        break
      case 'MemberJoined': {
        const m = p.member as { agent_id: string; role: string }
        team.set(m.agent_id, m.role)
        if (formed.has(e.team_id)) say(m.agent_id, e.occurred_at, e.team_id, m.role)
        break
      }
      case 'MemberLeft':
        if (team.delete(p.agent_id as string) && formed.has(e.team_id))
          say(p.agent_id as string, e.occurred_at, e.team_id, null)
        break
      case 'TeamDisbanded':
        if (formed.delete(e.team_id))
          for (const agent of team.keys()) say(agent, e.occurred_at, e.team_id, null)
        break
    }
  }
  const out = new Map<string, Fields>()
  for (const [agent, list] of said) {
    let current: Fields = { team_id: null, team_role: null, team_since: null }
    for (const s of list) {
      if (s.role !== null) current = { team_id: s.team, team_role: s.role, team_since: s.at }
      else if (current.team_id === s.team) current = { team_id: null, team_role: null, team_since: s.at }
    }
    out.set(agent, current)
  }
  return out
}

export function agentTeamFields(a: AgentSnapshot): Fields {
  return { team_id: a.team_id, team_role: a.team_role, team_since: a.team_since }
}

/** A data-quality finding as compared: what, about which entity, from which event. */
export interface FindingRef {
  reason: string
  entity_type: string
  entity_id: string
  event_id: string
}

/**
 * The rule breaks a careful reader finds walking the distinct events of all topics in arrival order
 * (the order the tables see them in the test driver).
 */
export function dataQualityReference(records: readonly GeneratedRecord[]): FindingRef[] {
  const out: FindingRef[] = []
  const seen = new Set<string>()
  const agentsCreated = new Set<string>()
  const agentsTerminated = new Set<string>()
  const tasksCreated = new Set<string>()
  const tasksEnded = new Set<string>()
  // Per team: formed or failed (the first of the two counts), disbanded, and its member list.
  const teamFate = new Map<string, 'formed' | 'failed'>()
  const disbanded = new Set<string>()
  const teamMembers = new Map<string, Map<string, string>>()
  const find = (reason: string, entity_type: string, entity_id: string, event_id: string) =>
    out.push({ reason, entity_type, entity_id, event_id })
  for (const r of records) {
    const e = r.event as unknown as { event_id: string; payload: object } & Record<string, unknown>
    if (seen.has(e.event_id)) continue
    seen.add(e.event_id)
    const type = kind(e.payload)
    const p = body(e.payload)
    if (r.family === 'agent_events') {
      const id = e.agent_id as string
      if (
        agentsTerminated.has(id) &&
        (type === 'AgentStatusChanged' || type === 'CapabilityAdded' || type === 'CapabilityRemoved')
      )
        find('TERMINATED_AGENT_CHANGE', 'agent', id, e.event_id)
      if (type === 'AgentCreated') agentsCreated.add(id)
      if (type === 'AgentTerminated') agentsTerminated.add(id)
    } else if (r.family === 'task_events') {
      const id = e.task_id as string
      const outcome = type === 'TaskCompleted' || type === 'TaskFailed' || type === 'TaskCancelled'
      if (type !== 'TaskCreated' && !tasksCreated.has(id)) find('UNKNOWN_TASK', 'task', id, e.event_id)
      else if (outcome && tasksEnded.has(id)) find('TASK_ALREADY_ENDED', 'task', id, e.event_id)
      if (type === 'TaskCreated') tasksCreated.add(id)
      if (outcome) tasksEnded.add(id)
    } else if (r.family === 'team_events') {
      const id = e.team_id as string
      const members = teamMembers.get(id) ?? new Map<string, string>()
      teamMembers.set(id, members)
      const isFormed = () => teamFate.get(id) === 'formed' && !disbanded.has(id)
      const wasFormed = isFormed()
      const joined: [string, string][] = []
      switch (type) {
        case 'TeamFormed':
          if (!teamFate.has(id)) teamFate.set(id, 'formed')
          if (isFormed()) {
            for (const m of p.members as { agent_id: string; role: string }[]) {
              if (!wasFormed || members.get(m.agent_id) !== m.role) joined.push([m.agent_id, m.role])
            }
          }
          members.clear()
          for (const m of p.members as { agent_id: string; role: string }[]) members.set(m.agent_id, m.role)
          break
        case 'TeamFormationFailed':
          if (!teamFate.has(id)) teamFate.set(id, 'failed')
          break
        case 'TeamDisbanded':
          disbanded.add(id)
          break
        case 'MemberJoined': {
          const m = p.member as { agent_id: string; role: string }
          if (!wasFormed) find('TEAM_NOT_FORMED', 'team', id, e.event_id)
          else if (members.has(m.agent_id)) find('ALREADY_A_MEMBER', 'team', id, e.event_id)
          if (wasFormed && members.get(m.agent_id) !== m.role) joined.push([m.agent_id, m.role])
          members.set(m.agent_id, m.role)
          break
        }
        case 'MemberLeft':
          if (!wasFormed) find('TEAM_NOT_FORMED', 'team', id, e.event_id)
          else if (!members.has(p.agent_id as string)) find('NOT_A_MEMBER', 'team', id, e.event_id)
          members.delete(p.agent_id as string)
          break
      }
      for (const [agent] of joined) {
        if (!agentsCreated.has(agent)) find('UNKNOWN_AGENT_MEMBER', 'agent', agent, e.event_id)
        else if (agentsTerminated.has(agent)) find('TERMINATED_AGENT_MEMBER', 'agent', agent, e.event_id)
      }
    }
  }
  return out
}

/** The topics of entityTopology. */
export const ENTITY_TOPICS = {
  inputs: {
    agent_events: 'test.agent_events',
    team_events: 'test.team_events',
    task_events: 'test.task_events',
    system_events: 'test.system_events',
  },
  agents: 'agent_party.agents',
  teams: 'agent_party.teams',
  tasks: 'agent_party.tasks',
  dataQuality: 'agent_party.data_quality',
} as const

/**
 * The topology under test (not a reference): the event topics deduplicated as in production, the three
 * entity tables with the agents' current team, their snapshot outputs and the data-quality output.
 */
export function entityTopology(
  serdes: {
    agentEvents: Serde<AgentEvent>
    teamEvents: Serde<TeamEvent>
    taskEvents: Serde<TaskEvent>
  },
  onDataQuality?: OnDataQuality,
  outputs: {
    agents: Serde<AgentSnapshot>
    teams: Serde<TeamSnapshot>
    tasks: Serde<TaskSnapshot>
    dataQuality: Serde<DataQualityRecord>
  } = { agents: Serdes.Json(), teams: Serdes.Json(), tasks: Serdes.Json(), dataQuality: Serdes.Json() },
): Topology {
  const key = Serdes.String()
  const builder = new StreamsBuilder()
  const events = <E extends { event_id: string; occurred_at: number }>(
    family: EventFamily,
    valueSerde: Serde<E>,
  ) =>
    dropDuplicates(
      builder,
      builder.stream<string, E>(ENTITY_TOPICS.inputs[family], { keySerde: key, valueSerde }),
      {
        name: `${family}-dedup`,
        keySerde: key,
        horizonMs: 3_600_000,
        eventId: (e) => e.event_id,
        eventTime: (e) => e.occurred_at,
      },
    )
  const teams = teamEntities(events('team_events', serdes.teamEvents), { key, snapshot: outputs.teams })
  const agents = agentEntities(events('agent_events', serdes.agentEvents), teams.memberships, {
    key,
    snapshot: outputs.agents,
  })
  const tasks = taskEntities(events('task_events', serdes.taskEvents), { key, snapshot: outputs.tasks })
  agents.table
    .toStream()
    .to(ENTITY_TOPICS.agents, { keySerde: key, valueSerde: outputs.agents as Serde<AgentSnapshot | null> })
  teams.table
    .toStream()
    .to(ENTITY_TOPICS.teams, { keySerde: key, valueSerde: outputs.teams as Serde<TeamSnapshot | null> })
  tasks.table
    .toStream()
    .to(ENTITY_TOPICS.tasks, { keySerde: key, valueSerde: outputs.tasks as Serde<TaskSnapshot | null> })
  dataQualityOutput([agents.dataQuality, teams.dataQuality, tasks.dataQuality], {
    output: ENTITY_TOPICS.dataQuality,
    keySerde: key,
    valueSerde: outputs.dataQuality,
    inputTopics: ENTITY_TOPICS.inputs,
    ...(onDataQuality ? { onDataQuality } : {}),
  })
  return builder.build()
}
