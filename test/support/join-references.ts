// Deliberately naive references for the joins (plain loops over the events in the order they are fed,
// no DSL, no code shared with processors/): what an operator replaying the events by hand would write
// down for each task outcome, each formation request, and each capability at the end.
import type { GeneratedRecord } from '../../schemas/index.js'

type Family = 'agent_events' | 'team_events' | 'task_events'

export interface Arrival {
  family: Family
  key: string
  event: {
    event_id: string
    occurred_at: number
    agent_id?: string
    team_id?: string
    task_id?: string
    payload: object
  }
  timestamp: number
}

const kind = (payload: object) => (Object.keys(payload)[0] ?? '').split('.').pop()
const body = (payload: object) => Object.values(payload)[0] as Record<string, unknown>
const FAMILIES: readonly Family[] = ['agent_events', 'team_events', 'task_events']

/**
 * The records of the three entity families: in the generator's order, or by family (each in the
 * generator's order): agents, teams, then tasks (`tables-first`), or the reverse (`tables-last`: every
 * task outcome meets an empty team table, every request an empty agent table).
 */
export function arrivals(
  records: readonly GeneratedRecord[],
  order: 'generated' | 'tables-first' | 'tables-last',
): Arrival[] {
  const out: Arrival[] = []
  for (const r of records) {
    if (!FAMILIES.includes(r.family as Family)) continue
    out.push({
      family: r.family as Family,
      key: r.key,
      event: r.event as unknown as Arrival['event'],
      timestamp: r.timestamp,
    })
  }
  if (order === 'generated') return out
  const families = order === 'tables-first' ? FAMILIES : [...FAMILIES].reverse()
  return families.flatMap((f) => out.filter((a) => a.family === f))
}

/** The first copy of each event, in the given order. */
function distinct(fed: readonly Arrival[]): Arrival[] {
  const seen = new Set<string>()
  const out: Arrival[] = []
  for (const a of fed) {
    if (seen.has(a.event.event_id)) continue
    seen.add(a.event.event_id)
    out.push(a)
  }
  return out
}

export interface AttributionRow {
  key: string
  team_key: string
  time: number
  value: Record<string, unknown>
}

/** One row per task outcome (the first outcome of a task fed), with the team's members as fed so far. */
export function attributionReference(fed: readonly Arrival[]): AttributionRow[] {
  const teams = new Map<string, Map<string, string>>()
  const tasks = new Map<string, { priority: string | null; team: string | null; decided: boolean }>()
  const rows: AttributionRow[] = []
  for (const { family, event } of distinct(fed)) {
    const k = kind(event.payload)
    const p = body(event.payload)
    if (family === 'team_events') {
      const id = event.team_id as string
      const members = teams.get(id) ?? new Map<string, string>()
      teams.set(id, members)
      if (k === 'TeamFormed') {
        members.clear()
        for (const m of p.members as { agent_id: string; role: string }[]) members.set(m.agent_id, m.role)
      }
      if (k === 'MemberJoined') {
        const m = p.member as { agent_id: string; role: string }
        members.set(m.agent_id, m.role)
      }
      if (k === 'MemberLeft') members.delete(p.agent_id as string)
    }
    if (family !== 'task_events') continue
    const id = event.task_id as string
    const task = tasks.get(id) ?? { priority: null, team: null, decided: false }
    tasks.set(id, task)
    if (k === 'TaskCreated') task.priority = p.priority as string
    if (k === 'TaskAssigned' || k === 'TaskStarted') task.team = p.team_id as string
    if (k !== 'TaskCompleted' && k !== 'TaskFailed' && k !== 'TaskCancelled') continue
    if (task.decided) continue
    task.decided = true
    const tokens = (k === 'TaskCancelled' ? {} : p.tokens_used) as Record<string, number>
    const team = task.team === null ? undefined : teams.get(task.team)
    const list: Record<string, unknown>[] = []
    let memberTokens = 0
    let others = 0
    let total = 0
    for (const agent of [...(team?.keys() ?? [])].sort()) {
      list.push({ agent_id: agent, role: team?.get(agent), tokens_used: tokens[agent] ?? 0, member: true })
      memberTokens += tokens[agent] ?? 0
    }
    for (const agent of Object.keys(tokens).sort()) {
      total += tokens[agent] as number
      if (team?.has(agent)) continue
      list.push({ agent_id: agent, role: null, tokens_used: tokens[agent], member: false })
      others += tokens[agent] as number
    }
    rows.push({
      key: id,
      team_key: task.team ?? 'UNKNOWN',
      time: event.occurred_at,
      value: {
        task_id: id,
        status: k === 'TaskCompleted' ? 'COMPLETED' : k === 'TaskFailed' ? 'FAILED' : 'CANCELLED',
        priority: task.priority,
        team_id: task.team,
        team_known: team !== undefined,
        finished_at: event.occurred_at,
        tokens_used: total,
        member_tokens: memberTokens,
        non_member_tokens: others,
        members: list,
      },
    })
  }
  return rows
}

/**
 * Per `team@windowStart`, the outcomes of tumbling windows of `sizeMs`, each outcome counted unless its
 * window had closed (end + grace at or before the largest outcome time seen before it).
 */
export function teamOutcomesReference(
  rows: readonly AttributionRow[],
  sizeMs: number,
  graceMs: number,
): { values: Map<string, Record<string, unknown>>; late: number } {
  const values = new Map<string, Record<string, unknown>>()
  let streamTime = Number.NEGATIVE_INFINITY
  let late = 0
  for (const row of rows) {
    streamTime = Math.max(streamTime, row.time)
    const start = Math.floor(row.time / sizeMs) * sizeMs
    if (start + sizeMs + graceMs <= streamTime) {
      late++
      continue
    }
    const id = `${row.team_key}@${start}`
    const v = values.get(id) ?? {
      team_id: row.team_key === 'UNKNOWN' ? null : row.team_key,
      window_start: start,
      window_end: start + sizeMs,
      completed: 0,
      failed: 0,
      cancelled: 0,
      tokens_used: 0,
      non_member_tokens: 0,
    }
    const status = row.value.status as string
    if (status === 'COMPLETED') (v.completed as number)++
    if (status === 'FAILED') (v.failed as number)++
    if (status === 'CANCELLED') (v.cancelled as number)++
    v.tokens_used = (v.tokens_used as number) + (row.value.tokens_used as number)
    v.non_member_tokens = (v.non_member_tokens as number) + (row.value.non_member_tokens as number)
    values.set(id, v)
  }
  return { values, late }
}

export interface CapacityReference {
  /** One per formation request fed, in order. */
  requests: { key: string; value: Record<string, unknown> }[]
  /** Per capability any live agent ever had, the counts at the end. */
  table: Map<string, Record<string, unknown>>
}

/** Agents replayed as fed; at each formation request, the agents with each required capability. */
export function capacityReference(fed: readonly Arrival[]): CapacityReference {
  const agents = new Map<string, { status: string; capabilities: Set<string> }>()
  const ever = new Set<string>()
  const requests: CapacityReference['requests'] = []
  const countsOf = (capability: string) => {
    const c = { idle: 0, busy: 0, offline: 0, unknown: 0, all: 0 }
    for (const a of agents.values()) {
      if (a.status === 'TERMINATED' || !a.capabilities.has(capability)) continue
      c.all++
      if (a.status === 'IDLE') c.idle++
      if (a.status === 'BUSY') c.busy++
      if (a.status === 'OFFLINE') c.offline++
      if (a.status === 'UNKNOWN') c.unknown++
    }
    return c
  }
  for (const { family, event } of distinct(fed)) {
    const k = kind(event.payload)
    const p = body(event.payload)
    if (family === 'agent_events') {
      const a = agents.get(event.agent_id as string) ?? { status: 'UNKNOWN', capabilities: new Set<string>() }
      agents.set(event.agent_id as string, a)
      if (k === 'AgentCreated') {
        a.capabilities = new Set((p.capabilities as { name: string }[]).map((c) => c.name))
        if (a.status === 'UNKNOWN') a.status = 'IDLE'
      }
      if (k === 'AgentStatusChanged' && a.status !== 'TERMINATED') a.status = p.status as string
      if (k === 'CapabilityAdded') a.capabilities.add((p.capability as { name: string }).name)
      if (k === 'CapabilityRemoved') a.capabilities.delete(p.capability_name as string)
      if (k === 'AgentTerminated') a.status = 'TERMINATED'
      if (a.status !== 'TERMINATED') for (const c of a.capabilities) ever.add(c)
    }
    if (family === 'team_events' && k === 'TeamFormationRequested') {
      const wanted: string[] = []
      for (const c of p.required_capabilities as string[]) if (!wanted.includes(c)) wanted.push(c)
      const capabilities = wanted.map((capability) => {
        const c = countsOf(capability)
        return { capability, idle_agents: c.idle, agents: c.all }
      })
      requests.push({
        key: event.team_id as string,
        value: {
          team_id: event.team_id,
          task_id: p.task_id,
          request_id: event.event_id,
          requested_at: event.occurred_at,
          capabilities,
          all_covered: capabilities.every((c) => c.idle_agents > 0),
        },
      })
    }
  }
  const table = new Map<string, Record<string, unknown>>()
  for (const capability of ever) {
    const c = countsOf(capability)
    table.set(capability, {
      capability,
      idle_agents: c.idle,
      busy_agents: c.busy,
      offline_agents: c.offline,
      unknown_agents: c.unknown,
      agents: c.all,
    })
  }
  return { requests, table }
}
