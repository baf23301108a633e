// The invariants a generated stream must keep, checked over the records in emission order; returns
// the violations (empty when none), so a failing test shows what broke.
import { eventFamilies, type GeneratedRecord, payloadName, payloadOf } from '../../../../schemas/index.js'

const TERMINAL = new Set([
  'AgentTerminated',
  'TaskCompleted',
  'TaskFailed',
  'TaskCancelled',
  'TeamDisbanded',
  'TeamFormationFailed',
])
const FIRST: Record<string, string> = {
  agent_events: 'AgentCreated',
  task_events: 'TaskCreated',
  team_events: 'TeamFormationRequested',
}

export function streamViolations(records: readonly GeneratedRecord[]): string[] {
  const violations: string[] = []
  const seenIds = new Set<string>()
  const lastTime = new Map<string, number>()
  const ended = new Set<string>()
  const agentCreatedAt = new Map<string, number>()
  const agentTerminatedAt = new Map<string, number>()
  const agentStatus = new Map<string, string>()
  const taskCreatedAt = new Map<string, number>()
  const teamMembers = new Map<string, string[]>()
  const formedAt: { team: string; at: number; members: string[] }[] = []

  records.forEach((record, i) => {
    const { family, key, event } = record
    const name = payloadName(event.payload)
    const body = payloadOf<Record<string, unknown>>(event.payload)
    const where = `#${i} ${family} ${name} ${key}`
    const entity = `${family}/${key}`
    if ((event as unknown as Record<string, unknown>)[eventFamilies[family].keyField] !== key) {
      violations.push(`${where}: key differs from ${eventFamilies[family].keyField}`)
    }
    if (record.timestamp !== event.occurred_at) violations.push(`${where}: timestamp is not the event time`)
    if (record.duplicate) {
      const previous = records[i - 1]
      if (previous?.event !== event) violations.push(`${where}: a duplicate not right after its original`)
      return
    }
    if (seenIds.has(event.event_id)) violations.push(`${where}: event_id reused`)
    seenIds.add(event.event_id)
    // Metric samples are independent measurements: only they may go back in time within their key.
    if (
      name !== 'ComponentMetric' &&
      (lastTime.get(entity) ?? Number.NEGATIVE_INFINITY) > event.occurred_at
    ) {
      violations.push(`${where}: goes back in event time within its key`)
    }
    if (ended.has(entity)) violations.push(`${where}: after its entity's terminal event`)
    if (!lastTime.has(entity) && FIRST[family] && FIRST[family] !== name) {
      violations.push(`${where}: first event of its entity is not ${FIRST[family]}`)
    }
    lastTime.set(entity, event.occurred_at)
    if (TERMINAL.has(name)) ended.add(entity)

    switch (name) {
      case 'AgentCreated':
        agentCreatedAt.set(key, event.occurred_at)
        agentStatus.set(key, 'IDLE')
        break
      case 'AgentStatusChanged':
        if (agentStatus.get(key) !== body.previous_status) {
          violations.push(`${where}: previous_status ${body.previous_status}, was ${agentStatus.get(key)}`)
        }
        agentStatus.set(key, body.status as string)
        break
      case 'AgentTerminated':
        agentTerminatedAt.set(key, event.occurred_at)
        break
      case 'TaskCreated':
        taskCreatedAt.set(key, event.occurred_at)
        break
      case 'TaskCompleted':
      case 'TaskFailed':
        if (!((taskCreatedAt.get(key) ?? Number.POSITIVE_INFINITY) < event.occurred_at)) {
          violations.push(`${where}: ends a task not created before it`)
        }
        break
      case 'TeamFormed': {
        const members = (body.members as { agent_id: string }[]).map((m) => m.agent_id)
        teamMembers.set(key, members)
        formedAt.push({ team: key, at: event.occurred_at, members })
        for (const agent of members) {
          if (!((agentCreatedAt.get(agent) ?? Number.POSITIVE_INFINITY) < event.occurred_at)) {
            violations.push(`${where}: member ${agent} was not created before`)
          }
        }
        break
      }
      case 'TaskAssigned':
        if (JSON.stringify(body.agent_ids) !== JSON.stringify(teamMembers.get(body.team_id as string))) {
          violations.push(`${where}: agent_ids are not the members of team ${body.team_id}`)
        }
        break
      default:
        break
    }
  })
  // A member's termination may arrive later (held back): check against event time at the end.
  for (const { team, at, members } of formedAt) {
    for (const agent of members) {
      if ((agentTerminatedAt.get(agent) ?? Number.POSITIVE_INFINITY) <= at) {
        violations.push(`team ${team}: member ${agent} was terminated before the team was formed`)
      }
    }
  }
  return violations
}
