// Deliberately naive references for agent utilization and activity sessions: plain loops over the
// distinct agent events in arrival order, no DSL and no code shared with processors/. They implement
// the documented rules of processors/metrics/utilization.ts on their own:
//  - busy time: event time is the largest occurred_at seen; the boundary B (a multiple of the window
//    size) is settled once event time reaches B + grace, and at that moment every BUSY agent's time up
//    to B is counted. A status change at t not older than the agent's last applied change takes effect
//    at max(t, counted-up-to, settled); an older one is ignored. AgentTerminated ends the agent at
//    max(t, counted-up-to, settled), whatever its time. AgentCreated gives the template (and, as the
//    first event, an IDLE agent).
//  - sessions: Kafka Streams' session windows, with its lateness rule (a record whose merged session
//    ends before stream time - grace - gap is dropped) and its store retention (gap + grace: a
//    session ending at or before the largest session end written minus that is gone, so a record
//    near it starts a new session instead of merging).

type Payload = Record<string, Record<string, unknown>>

export interface RefAgentEvent {
  event_id: string
  agent_id: string
  occurred_at: number
  payload: object
}

const kind = (payload: object) => (Object.keys(payload)[0] ?? '').split('.').pop()
const body = (payload: object) => Object.values(payload as Payload)[0] as Record<string, unknown>

export interface BusyReference {
  /** `agent@windowStart` -> busy ms and the template as of the last busy time added. */
  byAgent: Map<string, { busy_ms: number; template_id: string | null }>
  /** `template@windowStart` -> busy ms. */
  byTemplate: Map<string, number>
  /** Status changes ignored as older than the agent's last applied one. */
  stale: number
  /** Changes and terminations that took effect later than their time (settled or counted time). */
  clamped: number
}

export function busyReference(
  events: readonly RefAgentEvent[],
  sizeMs: number,
  graceMs: number,
): BusyReference {
  const byAgent = new Map<string, { busy_ms: number; template_id: string | null }>()
  const byTemplate = new Map<string, number>()
  let stale = 0
  let clamped = 0
  // Adds the BUSY milliseconds of [from, to) to every window they overlap.
  const count = (agent: string, template: string | null, from: number, to: number) => {
    for (let w = Math.floor(from / sizeMs) * sizeMs; w < to; w += sizeMs) {
      const ms = Math.min(to, w + sizeMs) - Math.max(from, w)
      if (ms <= 0) continue
      const a = byAgent.get(`${agent}@${w}`) ?? { busy_ms: 0, template_id: null }
      a.busy_ms += ms
      if (template !== null) a.template_id = template
      byAgent.set(`${agent}@${w}`, a)
      const tk = `${template ?? 'UNKNOWN'}@${w}`
      byTemplate.set(tk, (byTemplate.get(tk) ?? 0) + ms)
    }
  }
  const agents = new Map<
    string,
    { status: string; changedAt: number; countedTo: number; template: string | null }
  >()
  let eventTime = Number.NEGATIVE_INFINITY
  let settled = Number.NEGATIVE_INFINITY
  for (const e of events) {
    if (e.occurred_at > eventTime) {
      eventTime = e.occurred_at
      // From a boundary surely not settled yet, one window at a time.
      let b =
        settled === Number.NEGATIVE_INFINITY
          ? Math.floor(eventTime / sizeMs) * sizeMs - sizeMs * (Math.ceil(graceMs / sizeMs) + 1)
          : settled
      while (b + sizeMs + graceMs <= eventTime) b += sizeMs
      if (settled === Number.NEGATIVE_INFINITY || b > settled) {
        for (const [id, a] of agents) {
          if (a.status === 'BUSY' && a.countedTo < b) {
            count(id, a.template, a.countedTo, b)
            a.countedTo = b
          }
        }
        settled = b
      }
    }
    const t = e.occurred_at
    const p = body(e.payload)
    const a = agents.get(e.agent_id)
    const k = kind(e.payload)
    if (a === undefined) {
      if (k === 'AgentCreated' || k === 'AgentStatusChanged' || k === 'AgentTerminated') {
        if (t < settled) clamped++
        agents.set(e.agent_id, {
          status:
            k === 'AgentCreated' ? 'IDLE' : k === 'AgentTerminated' ? 'TERMINATED' : (p.status as string),
          changedAt: t,
          countedTo: Math.max(t, settled),
          template: k === 'AgentCreated' ? (p.template_id as string) : null,
        })
      }
      continue
    }
    if (k === 'AgentCreated') {
      a.template = p.template_id as string
    } else if (k === 'AgentStatusChanged' || k === 'AgentTerminated') {
      if (a.status === 'TERMINATED') continue
      if (k === 'AgentStatusChanged' && t < a.changedAt) {
        stale++
        continue
      }
      const at = Math.max(t, a.countedTo, settled)
      if (at > t) clamped++
      if (a.status === 'BUSY') count(e.agent_id, a.template, Math.max(a.countedTo, settled), at)
      a.status = k === 'AgentTerminated' ? 'TERMINATED' : (p.status as string)
      a.changedAt = Math.max(a.changedAt, t)
      a.countedTo = at
    }
  }
  return { byAgent, byTemplate, stale, clamped }
}

export interface SessionRef {
  agent_id: string
  start: number
  end: number
  events: number
  first_event_at: number
  last_event_at: number
  status_changes: number
}

/** The sessions per `agent@start-end` after all events, and how many events were too late. */
export function sessionReference(
  events: readonly RefAgentEvent[],
  gapMs: number,
  graceMs: number,
): { sessions: Map<string, SessionRef>; late: number; merges: number } {
  const perAgent = new Map<string, SessionRef[]>()
  let streamTime = Number.NEGATIVE_INFINITY
  // The largest session end written so far: sessions ending at or before it minus gap and grace have
  // left the store (its retention), so they can no longer merge.
  let writtenEnd = Number.NEGATIVE_INFINITY
  let late = 0
  let merges = 0
  for (const e of events) {
    const t = e.occurred_at
    if (t > streamTime) streamTime = t
    const list = perAgent.get(e.agent_id) ?? []
    const near = list.filter(
      (s) => s.end >= t - gapMs && s.start <= t + gapMs && s.end > writtenEnd - gapMs - graceMs,
    )
    let start = t
    let end = t
    for (const s of near) {
      start = Math.min(start, s.start)
      end = Math.max(end, s.end)
    }
    if (end < streamTime - graceMs - gapMs) {
      late++
      continue
    }
    const merged: SessionRef = {
      agent_id: e.agent_id,
      start,
      end,
      events: 1,
      first_event_at: t,
      last_event_at: t,
      status_changes: kind(e.payload) === 'AgentStatusChanged' ? 1 : 0,
    }
    for (const s of near) {
      merged.events += s.events
      merged.first_event_at = Math.min(merged.first_event_at, s.first_event_at)
      merged.last_event_at = Math.max(merged.last_event_at, s.last_event_at)
      merged.status_changes += s.status_changes
    }
    if (near.some((s) => s.start !== start || s.end !== end)) merges++
    writtenEnd = Math.max(writtenEnd, end)
    perAgent.set(e.agent_id, [...list.filter((s) => !near.includes(s)), merged])
  }
  const sessions = new Map<string, SessionRef>()
  for (const list of perAgent.values()) {
    for (const s of list) sessions.set(`${s.agent_id}@${s.start}-${s.end}`, s)
  }
  return { sessions, late, merges }
}
