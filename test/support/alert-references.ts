// Deliberately naive references for the alerts (plain loops over the records, no DSL, no code shared
// with processors/): which alerts the events must raise, with every field but the message. The
// punctuator-based ones replay the engine's stream-time punctuation: stream time is the largest record
// timestamp the task has read (duplicates included: they are dropped after being read), and a
// punctuator first fires with the first record, then whenever stream time reaches the next multiple of
// the interval after it (intervals it skipped are not replayed), after the record is processed.

export interface ExpectedAlert {
  alert_id: string
  type: string
  severity: string
  subject_type: string
  subject: string
  observed: number
  threshold: number
  window_start: number | null
  window_end: number | null
  event_time: number
  details: Record<string, string>
}

interface Envelope {
  event_id: string
  occurred_at: number
  payload: object
}

const kind = (payload: object) => (Object.keys(payload)[0] ?? '').split('.').pop()
const body = (payload: object) => Object.values(payload)[0] as Record<string, unknown>

/** The stream-time punctuation of one task: call after each record; returns the time it fires, if it does. */
function punctuation(intervalMs: number): (streamTime: number) => number | undefined {
  let next = Number.NEGATIVE_INFINITY
  let first = true
  return (streamTime) => {
    if (streamTime < next) return undefined
    if (first) {
      next = streamTime
      first = false
    }
    while (next <= streamTime) next += intervalMs
    return streamTime
  }
}

/**
 * Formation failure rate: the distinct TeamFormed / TeamFormationFailed events in the order the window
 * aggregate reads them. A record whose window closed (end + grace at or before the largest timestamp
 * seen so far) is left out of it; a record left out of every window is a late record (with the stream
 * time at that moment).
 */
export function formationRateReference(
  outcomes: readonly Envelope[],
  windows: { sizeMs: number; advanceMs: number; graceMs: number },
  maxRate: number,
  minFormations: number,
): { alerts: ExpectedAlert[]; lateAt: number[] } {
  const counts = new Map<number, { formed: number; failed: number; alerted: boolean }>()
  const alerts: ExpectedAlert[] = []
  const lateAt: number[] = []
  let streamTime = Number.NEGATIVE_INFINITY
  for (const e of outcomes) {
    const t = e.occurred_at
    if (t > streamTime) streamTime = t
    let counted = false
    for (let start = t - (t % windows.advanceMs); start > t - windows.sizeMs; start -= windows.advanceMs) {
      if (start < 0) break
      if (start + windows.sizeMs + windows.graceMs <= streamTime) continue
      counted = true
      const w = counts.get(start) ?? { formed: 0, failed: 0, alerted: false }
      if (kind(e.payload) === 'TeamFormed') w.formed++
      else w.failed++
      counts.set(start, w)
      const total = w.formed + w.failed
      if (!w.alerted && total >= minFormations && w.failed / total > maxRate) {
        w.alerted = true
        alerts.push({
          alert_id: `FORMATION_FAILURE_RATE/team_formation_failure_rate/${start}`,
          type: 'FORMATION_FAILURE_RATE',
          severity: 'CRITICAL',
          subject_type: 'METRIC',
          subject: 'team_formation_failure_rate',
          observed: w.failed / total,
          threshold: maxRate,
          window_start: start,
          window_end: start + windows.sizeMs,
          event_time: t,
          details: {
            formed: String(w.formed),
            failed: String(w.failed),
            min_formations: String(minFormations),
          },
        })
      }
    }
    if (!counted) lateAt.push(streamTime)
  }
  return { alerts, lateAt }
}

/**
 * Tasks assigned but not started: every task record in arrival order (duplicates advance stream time
 * but change nothing). A task is pending from its first TaskAssigned (the last one read sets the time)
 * until any TaskStarted, TaskCompleted, TaskFailed or TaskCancelled is read; each assignment alerts
 * once, at the first punctuation at least the limit after it.
 */
export function taskNotStartedReference(
  records: readonly { timestamp: number; event: Envelope & { task_id: string } }[],
  timeoutMs: number,
  intervalMs: number,
): ExpectedAlert[] {
  const seen = new Set<string>()
  const done = new Set<string>()
  const alerted = new Set<string>()
  const assigned = new Map<string, { at: number; team: string }>()
  const alerts: ExpectedAlert[] = []
  const punctuate = punctuation(intervalMs)
  let streamTime = Number.NEGATIVE_INFINITY
  for (const { timestamp, event: e } of records) {
    if (timestamp > streamTime) streamTime = timestamp
    if (!seen.has(e.event_id)) {
      seen.add(e.event_id)
      const k = kind(e.payload)
      if (k === 'TaskAssigned') {
        assigned.set(e.task_id, { at: e.occurred_at, team: body(e.payload).team_id as string })
      }
      if (k === 'TaskStarted' || k === 'TaskCompleted' || k === 'TaskFailed' || k === 'TaskCancelled') {
        done.add(e.task_id)
      }
    }
    const now = punctuate(streamTime)
    if (now === undefined) continue
    for (const [task, { at, team }] of assigned) {
      if (done.has(task) || alerted.has(`${task}/${at}`) || at + timeoutMs > now) continue
      alerted.add(`${task}/${at}`)
      alerts.push({
        alert_id: `TASK_NOT_STARTED/${task}/${at}`,
        type: 'TASK_NOT_STARTED',
        severity: 'WARNING',
        subject_type: 'TASK',
        subject: task,
        observed: now - at,
        threshold: timeoutMs,
        window_start: null,
        window_end: null,
        event_time: now,
        details: { assigned_at: String(at), team_id: team },
      })
    }
  }
  return alerts
}

/**
 * Agents busy too long: every agent record in arrival order. Per agent, the status changes are applied
 * unless older than the last applied one; BUSY after BUSY keeps the period's start; a termination ends
 * everything for good. A busy period alerts once, at the first punctuation at least the bound after its
 * start.
 */
export function agentBusyReference(
  records: readonly { timestamp: number; event: Envelope & { agent_id: string } }[],
  maxBusyMs: number,
  intervalMs: number,
): ExpectedAlert[] {
  const seen = new Set<string>()
  const agents = new Map<string, { status: string; since: number; last: number; alerted: boolean }>()
  const alerts: ExpectedAlert[] = []
  const punctuate = punctuation(intervalMs)
  let streamTime = Number.NEGATIVE_INFINITY
  for (const { timestamp, event: e } of records) {
    if (timestamp > streamTime) streamTime = timestamp
    if (!seen.has(e.event_id)) {
      seen.add(e.event_id)
      const a = agents.get(e.agent_id)
      const k = kind(e.payload)
      if (a?.status === 'TERMINATED') {
        // terminated for good
      } else if (k === 'AgentTerminated') {
        agents.set(e.agent_id, {
          status: 'TERMINATED',
          since: e.occurred_at,
          last: e.occurred_at,
          alerted: false,
        })
      } else if (k === 'AgentStatusChanged' && (a === undefined || e.occurred_at >= a.last)) {
        const status = body(e.payload).status as string
        if (status === 'BUSY' && a?.status === 'BUSY') a.last = e.occurred_at
        else agents.set(e.agent_id, { status, since: e.occurred_at, last: e.occurred_at, alerted: false })
      }
    }
    const now = punctuate(streamTime)
    if (now === undefined) continue
    for (const [agent, a] of agents) {
      if (a.status !== 'BUSY' || a.alerted || a.since + maxBusyMs > now) continue
      a.alerted = true
      alerts.push({
        alert_id: `AGENT_BUSY_TOO_LONG/${agent}/${a.since}`,
        type: 'AGENT_BUSY_TOO_LONG',
        severity: 'WARNING',
        subject_type: 'AGENT',
        subject: agent,
        observed: now - a.since,
        threshold: maxBusyMs,
        window_start: null,
        window_end: null,
        event_time: now,
        details: { busy_since: String(a.since) },
      })
    }
  }
  return alerts
}

/**
 * Late records or dead letters per window: `times` are the times they went bad, in the order they were
 * written. A window older than the one before the newest window seen is gone (its records not counted).
 */
export function badEventRateReference(
  times: readonly number[],
  kind: 'late' | 'dead-letter',
  topic: string,
  windowMs: number,
  perMinute: number,
): ExpectedAlert[] {
  const type = kind === 'late' ? 'LATE_EVENT_RATE' : 'DEAD_LETTER_RATE'
  const counts = new Map<number, number>()
  const alerted = new Set<number>()
  const alerts: ExpectedAlert[] = []
  let newest = Number.NEGATIVE_INFINITY
  for (const t of times) {
    const start = Math.floor(t / windowMs) * windowMs
    if (start < newest - windowMs) continue
    if (start > newest) newest = start
    const count = (counts.get(start) ?? 0) + 1
    counts.set(start, count)
    const rate = (count * 60_000) / windowMs
    if (rate > perMinute && !alerted.has(start)) {
      alerted.add(start)
      alerts.push({
        alert_id: `${type}/${topic}/${start}`,
        type,
        severity: kind === 'late' ? 'WARNING' : 'CRITICAL',
        subject_type: 'TOPIC',
        subject: topic,
        observed: rate,
        threshold: perMinute,
        window_start: start,
        window_end: start + windowMs,
        event_time: t,
        details: { count: String(count), window_ms: String(windowMs) },
      })
    }
  }
  return alerts
}
