// Deliberately naive references for the entity tables (plain loops over the event list, no DSL, no
// code shared with processors/), and the fields of a snapshot they are compared on. Used by the driver
// tests and by the run through the real runtime.
import type { AgentSnapshot } from '../../processors/entities/agents.js'
import type { TaskSnapshot } from '../../processors/entities/tasks.js'
import type { TeamSnapshot } from '../../processors/entities/teams.js'
import type { AgentEvent, EventFamily, GeneratedRecord, TaskEvent, TeamEvent } from '../../schemas/index.js'

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
