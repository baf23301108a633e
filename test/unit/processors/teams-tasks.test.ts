// The team and task tables against deliberately naive references. The generator reports some
// outcomes late (after events with a later event time) and repeats some events; the references read
// the distinct events sorted by event time, so the tables, fed in arrival order, must not depend on it.
import { describe, expect, it } from 'vitest'
import { resolveProcessorConfig } from '../../../processors/config.js'
import type { TaskSnapshot } from '../../../processors/entities/tasks.js'
import type { TeamSnapshot } from '../../../processors/entities/teams.js'
import { agentPartyTopology } from '../../../processors/topology.js'
import {
  type GeneratedRecord,
  generateRecords,
  type TaskEvent,
  type TeamEvent,
} from '../../../schemas/index.js'
import { Serdes, TopologyTestDriver } from '../../../topology/index.js'
import { processorSerdes } from '../../support/processor-serdes.js'

const serdes = await processorSerdes()
const str = Serdes.String()
const config = resolveProcessorConfig()

const records: GeneratedRecord[] = [
  ...generateRecords({
    seed: 5,
    count: 30_000,
    baseTime: Date.UTC(2026, 0, 1),
    duplicateShare: 0.03,
    outOfOrderShare: 0.05,
    lateShare: 0.01,
  }),
]

function distinctByEventTime<E extends { event_id: string; occurred_at: number }>(family: string): E[] {
  const seen = new Set<string>()
  const out: E[] = []
  for (const r of records) {
    if (r.family !== family) continue
    const e = r.event as unknown as E
    if (seen.has(e.event_id)) continue
    seen.add(e.event_id)
    out.push(e)
  }
  return out.sort((a, b) => a.occurred_at - b.occurred_at)
}

const kind = (payload: object) => (Object.keys(payload)[0] ?? '').split('.').pop()
const body = (payload: object) => Object.values(payload)[0] as Record<string, unknown>

function run(): TopologyTestDriver {
  const driver = new TopologyTestDriver(agentPartyTopology(config, serdes))
  const teams = driver.createInputTopic(config.inputTopics.team_events, str, serdes.teamEvents)
  const tasks = driver.createInputTopic(config.inputTopics.task_events, str, serdes.taskEvents)
  for (const r of records) {
    if (r.family === 'team_events') teams.pipeInput(r.key, r.event as TeamEvent, r.timestamp)
    if (r.family === 'task_events') tasks.pipeInput(r.key, r.event as TaskEvent, r.timestamp)
  }
  return driver
}

function lastByKey<V>(pairs: readonly (readonly [string | null, V | null])[]): Map<string, V> {
  const out = new Map<string, V>()
  for (const [key, value] of pairs) out.set(key as string, value as V)
  return out
}

const driver = run()

describe('task table', () => {
  it('ends with the state the events give in event-time order, for every task', () => {
    const expected = new Map<string, Record<string, unknown>>()
    for (const e of distinctByEventTime<TaskEvent>('task_events')) {
      const t = expected.get(e.task_id) ?? {
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
          t.tokens_used = Object.values(p.tokens_used as Record<string, number>).reduce((a, b) => a + b, 0)
          break
        case 'TaskFailed':
          t.status = 'FAILED'
          t.tokens_used = Object.values(p.tokens_used as Record<string, number>).reduce((a, b) => a + b, 0)
          break
        case 'TaskCancelled':
          t.status = 'CANCELLED'
          break
      }
      t.events = (t.events as number) + 1
      expected.set(e.task_id, t)
    }
    const outcomes = [...expected.values()].map((t) => t.status)
    expect(outcomes).toContain('COMPLETED')
    expect(outcomes).toContain('FAILED')
    const got = lastByKey(
      driver.createOutputTopic(config.outputTopics.tasks, str, serdes.taskSnapshot).readKeyValuesToList(),
    )
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort())
    for (const [id, want] of expected) {
      const t = got.get(id) as TaskSnapshot
      expect(
        {
          status: t.status,
          priority: t.priority,
          team_id: t.team_id,
          tokens_used: t.tokens_used,
          events: t.events,
        },
        id,
      ).toEqual(want)
    }
  })
})

describe('team table', () => {
  it('ends with the state the events give in event-time order, for every team', () => {
    const expected = new Map<string, Record<string, unknown>>()
    for (const e of distinctByEventTime<TeamEvent>('team_events')) {
      const t = expected.get(e.team_id) ?? {
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
      expected.set(e.team_id, t)
    }
    const statuses = [...expected.values()].map((t) => t.status)
    expect(statuses).toContain('DISBANDED')
    expect(statuses).toContain('FORMATION_FAILED')
    const got = lastByKey(
      driver.createOutputTopic(config.outputTopics.teams, str, serdes.teamSnapshot).readKeyValuesToList(),
    )
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort())
    for (const [id, want] of expected) {
      const t = got.get(id) as TeamSnapshot
      expect(
        {
          status: t.status,
          task_id: t.task_id,
          members: new Map(t.members.map((m) => [m.agent_id, m.role])),
          events: t.events,
        },
        id,
      ).toEqual(want)
    }
  })
})

describe('order rules', () => {
  const id = (n: number) => `00000000-0000-4000-8000-0000000000${String(n).padStart(2, '0')}`

  it('a task never goes back from an outcome, and keeps the first outcome', () => {
    const d = new TopologyTestDriver(agentPartyTopology(config, serdes))
    const tasks = d.createInputTopic(config.inputTopics.task_events, str, serdes.taskEvents)
    const task = (n: number, at: number, payload: TaskEvent['payload']): TaskEvent => ({
      event_id: id(n),
      occurred_at: at,
      task_id: 'task-1',
      payload,
    })
    tasks.pipeInput(
      'task-1',
      task(1, 1000, {
        'agent_party.events.TaskCreated': {
          priority: 'HIGH',
          required_capabilities: ['x'],
          token_budget: 10,
        },
      }),
      1000,
    )
    tasks.pipeInput(
      'task-1',
      task(2, 4000, {
        'agent_party.events.TaskCompleted': { tokens_used: { a: 3, b: 4 }, duration_ms: 900 },
      }),
      4000,
    )
    // Reported late: the start and a second outcome change nothing but their own fields.
    tasks.pipeInput(
      'task-1',
      task(3, 3000, { 'agent_party.events.TaskStarted': { team_id: 'team-1' } }),
      3000,
    )
    tasks.pipeInput(
      'task-1',
      task(4, 5000, { 'agent_party.events.TaskCancelled': { reason: 'too late' } }),
      5000,
    )
    const out = d.createOutputTopic(config.outputTopics.tasks, str, serdes.taskSnapshot).readValuesToList()
    expect(out.map((t) => [t?.status, t?.tokens_used, t?.started_at, t?.cancel_reason])).toEqual([
      ['CREATED', 0, null, null],
      ['COMPLETED', 7, null, null],
      ['COMPLETED', 7, 3000, null],
      ['COMPLETED', 7, 3000, null],
    ])
  })

  it('a disbanded team stays disbanded when an earlier event arrives after', () => {
    const d = new TopologyTestDriver(agentPartyTopology(config, serdes))
    const teams = d.createInputTopic(config.inputTopics.team_events, str, serdes.teamEvents)
    const team = (n: number, at: number, payload: TeamEvent['payload']): TeamEvent => ({
      event_id: id(n),
      occurred_at: at,
      team_id: 'team-1',
      payload,
    })
    teams.pipeInput('team-1', team(1, 5000, { 'agent_party.events.TeamDisbanded': { reason: 'done' } }), 5000)
    teams.pipeInput(
      'team-1',
      team(2, 2000, {
        'agent_party.events.TeamFormed': {
          task_id: 'task-1',
          members: [{ agent_id: 'a', role: 'LEADER' }],
          formation_score: 0.9,
          inference_time_ms: 12,
        },
      }),
      2000,
    )
    const out = d.createOutputTopic(config.outputTopics.teams, str, serdes.teamSnapshot).readValuesToList()
    expect(out.map((t) => [t?.status, t?.task_id, t?.members.length])).toEqual([
      ['DISBANDED', null, 0],
      ['DISBANDED', 'task-1', 1],
    ])
  })
})
