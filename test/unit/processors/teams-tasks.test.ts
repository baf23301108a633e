// The team and task tables against deliberately naive references. The generator reports some
// outcomes late (after events with a later event time) and repeats some events; the references read
// the distinct events sorted by event time, so the tables, fed in arrival order, must not depend on it.
import { afterAll, describe, expect, it } from 'vitest'
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
import {
  distinctEvents,
  ENTITY_TOPICS,
  entityTopology,
  taskFields,
  taskReference,
  teamFields,
  teamReference,
} from '../../support/entity-references.js'
import { processorSerdes } from '../../support/processor-serdes.js'

const serdes = await processorSerdes()
const avroOutputs = serdes.entityOutputs
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

function run(stateStore: 'memory' | 'lmdb'): TopologyTestDriver {
  const driver = new TopologyTestDriver(agentPartyTopology(config, serdes), { stateStore })
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

// The tables kept in memory and in LMDB (stateStore 'lmdb') end with the same states.
describe.each(['memory', 'lmdb'] as const)('with the stores in %s', (stateStore) => {
  const driver = run(stateStore)
  afterAll(() => driver.close())

  describe('task table', () => {
    it('ends with the state the events give in event-time order, for every task', () => {
      const expected = taskReference(distinctEvents<TaskEvent>(records, 'task_events', 'event-time'))
      const outcomes = [...expected.values()].map((t) => t.status)
      expect(outcomes).toContain('COMPLETED')
      expect(outcomes).toContain('FAILED')
      const got = lastByKey(
        driver.createOutputTopic(config.outputTopics.tasks, str, serdes.taskSnapshot).readKeyValuesToList(),
      )
      expect([...got.keys()].sort()).toEqual([...expected.keys()].sort())
      for (const [id, want] of expected) expect(taskFields(got.get(id) as TaskSnapshot), id).toEqual(want)
    })
  })

  describe('team table', () => {
    it('ends with the state the events give in event-time order, for every team', () => {
      const expected = teamReference(distinctEvents<TeamEvent>(records, 'team_events', 'event-time'))
      const statuses = [...expected.values()].map((t) => t.status)
      expect(statuses).toContain('DISBANDED')
      expect(statuses).toContain('FORMATION_FAILED')
      const got = lastByKey(
        driver.createOutputTopic(config.outputTopics.teams, str, serdes.teamSnapshot).readKeyValuesToList(),
      )
      expect([...got.keys()].sort()).toEqual([...expected.keys()].sort())
      for (const [id, want] of expected) expect(teamFields(got.get(id) as TeamSnapshot), id).toEqual(want)
    })
  })
})

describe('team and task tables with their data-quality findings (teamEntities, taskEntities)', () => {
  it('end with the same states as the tables alone', () => {
    const d = new TopologyTestDriver(entityTopology(serdes, undefined, avroOutputs))
    const teams = d.createInputTopic(ENTITY_TOPICS.inputs.team_events, str, serdes.teamEvents)
    const tasks = d.createInputTopic(ENTITY_TOPICS.inputs.task_events, str, serdes.taskEvents)
    for (const r of records) {
      if (r.family === 'team_events') teams.pipeInput(r.key, r.event as TeamEvent, r.timestamp)
      if (r.family === 'task_events') tasks.pipeInput(r.key, r.event as TaskEvent, r.timestamp)
    }
    const wantTasks = taskReference(distinctEvents<TaskEvent>(records, 'task_events', 'event-time'))
    const gotTasks = lastByKey(
      d.createOutputTopic(ENTITY_TOPICS.tasks, str, serdes.taskSnapshot).readKeyValuesToList(),
    )
    expect([...gotTasks.keys()].sort()).toEqual([...wantTasks.keys()].sort())
    for (const [id, want] of wantTasks) expect(taskFields(gotTasks.get(id) as TaskSnapshot), id).toEqual(want)
    const wantTeams = teamReference(distinctEvents<TeamEvent>(records, 'team_events', 'event-time'))
    const gotTeams = lastByKey(
      d.createOutputTopic(ENTITY_TOPICS.teams, str, serdes.teamSnapshot).readKeyValuesToList(),
    )
    expect([...gotTeams.keys()].sort()).toEqual([...wantTeams.keys()].sort())
    for (const [id, want] of wantTeams) expect(teamFields(gotTeams.get(id) as TeamSnapshot), id).toEqual(want)
    // A clean stream breaks no rule but one: members never created, as no agent event was piped.
    const reasons = new Set(
      d
        .createOutputTopic(ENTITY_TOPICS.dataQuality, str, avroOutputs.dataQuality)
        .readValuesToList()
        .map((f) => f?.reason),
    )
    expect([...reasons]).toEqual(['UNKNOWN_AGENT_MEMBER'])
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
