// The agent table against a deliberately naive reading of the same generated events (plain loops, no
// DSL, no shared code): the last snapshot of every agent equals the reference, duplicates excluded;
// with the team events, so does its current team (the team events read in event-time order, while
// the table sees them in arrival order, disbandings reported late included).
import { describe, expect, it } from 'vitest'
import { resolveProcessorConfig } from '../../../processors/config.js'
import type { AgentSnapshot } from '../../../processors/entities/agents.js'
import { agentPartyTopology } from '../../../processors/topology.js'
import { type AgentEvent, generateRecords, type TeamEvent } from '../../../schemas/index.js'
import { Serdes, TopologyTestDriver } from '../../../topology/index.js'
import {
  agentFields,
  agentReference,
  agentTeamFields,
  agentTeamReference,
  distinctEvents,
  ENTITY_TOPICS,
  entityTopology,
} from '../../support/entity-references.js'
import { processorSerdes } from '../../support/processor-serdes.js'

const serdes = await processorSerdes()
const avroOutputs = serdes.entityOutputs
const agentEvents = serdes.agentEvents
const snapshots = serdes.agentSnapshot
const str = Serdes.String()

describe('agent table', () => {
  it('ends with the snapshot a naive reading of the events gives, for every agent', () => {
    const records = [
      ...generateRecords({ seed: 11, count: 20_000, baseTime: Date.UTC(2026, 0, 1), duplicateShare: 0.03 }),
    ].filter((r) => r.family === 'agent_events')
    const expected = agentReference(distinctEvents<AgentEvent>(records, 'agent_events', 'arrival'))
    expect(expected.size).toBeGreaterThan(10)
    expect([...expected.values()].some((a) => a.status === 'TERMINATED')).toBe(true)

    const config = resolveProcessorConfig()
    const driver = new TopologyTestDriver(agentPartyTopology(config, serdes))
    const input = driver.createInputTopic(config.inputTopics.agent_events, str, agentEvents)
    for (const r of records) input.pipeInput(r.key, r.event as AgentEvent, r.timestamp)
    const last = new Map<string, AgentSnapshot>()
    for (const [id, snapshot] of driver
      .createOutputTopic(config.outputTopics.agents, str, snapshots)
      .readKeyValuesToList()) {
      // Every output is a whole snapshot keyed by the agent id.
      expect(snapshot?.agent_id).toBe(id)
      last.set(id as string, snapshot as AgentSnapshot)
    }
    expect([...last.keys()].sort()).toEqual([...expected.keys()].sort())
    for (const [id, want] of expected) {
      const got = last.get(id) as AgentSnapshot
      expect(agentFields(got), id).toEqual(want)
    }
  })
})

describe("agent table's current team", () => {
  it('ends with the team a naive reading of the team events gives, for every agent', () => {
    const records = [
      ...generateRecords({
        seed: 7,
        count: 20_000,
        baseTime: Date.UTC(2026, 0, 1),
        duplicateShare: 0.03,
        outOfOrderShare: 0.05,
        lateShare: 0.02,
        lateByMs: 60_000,
      }),
    ].filter((r) => r.family === 'agent_events' || r.family === 'team_events')
    const agentsWant = agentReference(distinctEvents<AgentEvent>(records, 'agent_events', 'arrival'))
    const teamsWant = agentTeamReference(distinctEvents<TeamEvent>(records, 'team_events', 'event-time'))
    const inTeams = [...teamsWant.values()].filter((t) => t.team_id !== null).length
    expect(inTeams).toBeGreaterThan(3)
    expect(teamsWant.size - inTeams).toBeGreaterThan(3)
    // Some disbandings come after a later formation with one of their members.
    expect(
      records.some((r) => r.delay === 'late' && Object.keys(r.event.payload)[0]?.endsWith('Disbanded')),
    ).toBe(true)

    const driver = new TopologyTestDriver(entityTopology(serdes, undefined, avroOutputs))
    const agentInput = driver.createInputTopic(ENTITY_TOPICS.inputs.agent_events, str, agentEvents)
    const teamInput = driver.createInputTopic(ENTITY_TOPICS.inputs.team_events, str, serdes.teamEvents)
    for (const r of records) {
      if (r.family === 'agent_events') agentInput.pipeInput(r.key, r.event as AgentEvent, r.timestamp)
      else teamInput.pipeInput(r.key, r.event as TeamEvent, r.timestamp)
    }
    const last = new Map<string, AgentSnapshot>()
    for (const [id, snapshot] of driver
      .createOutputTopic(ENTITY_TOPICS.agents, str, snapshots)
      .readKeyValuesToList()) {
      expect(snapshot?.agent_id).toBe(id)
      last.set(id as string, snapshot as AgentSnapshot)
    }
    expect([...last.keys()].sort()).toEqual([...new Set([...agentsWant.keys(), ...teamsWant.keys()])].sort())
    for (const [id, got] of last) {
      expect(agentTeamFields(got), id).toEqual(
        teamsWant.get(id) ?? { team_id: null, team_role: null, team_since: null },
      )
      expect(agentFields(got), id).toEqual(agentsWant.get(id))
    }
  })

  it('keeps the newer team when the disbanding of the previous one comes late', () => {
    const driver = new TopologyTestDriver(entityTopology(serdes, undefined, avroOutputs))
    const teams = driver.createInputTopic(ENTITY_TOPICS.inputs.team_events, str, serdes.teamEvents)
    let n = 0
    const team = (teamId: string, at: number, payload: TeamEvent['payload']): TeamEvent => ({
      event_id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
      occurred_at: at,
      team_id: teamId,
      payload,
    })
    const formed = (taskId: string, members: [string, 'LEADER' | 'MEMBER' | 'REVIEWER'][]) => ({
      'agent_party.events.TeamFormed': {
        task_id: taskId,
        members: members.map(([agent_id, role]) => ({ agent_id, role })),
        formation_score: 0.9,
        inference_time_ms: 10,
      },
    })
    teams.pipeInput(
      't1',
      team(
        't1',
        1000,
        formed('task-1', [
          ['a', 'LEADER'],
          ['b', 'MEMBER'],
        ]),
      ),
      1000,
    )
    teams.pipeInput('t2', team('t2', 3000, formed('task-2', [['a', 'MEMBER']])), 3000)
    // t1's disbanding, at 2000, reported after t2 took agent a: it frees b only.
    teams.pipeInput('t1', team('t1', 2000, { 'agent_party.events.TeamDisbanded': { reason: 'done' } }), 2000)
    teams.pipeInput(
      't2',
      team('t2', 4000, {
        'agent_party.events.MemberJoined': { member: { agent_id: 'b', role: 'REVIEWER' } },
      }),
      4000,
    )
    teams.pipeInput(
      't2',
      team('t2', 5000, { 'agent_party.events.MemberLeft': { agent_id: 'a', reason: 'went offline' } }),
      5000,
    )
    // A formation older than c's current team, processed after it (another partition): stale.
    teams.pipeInput('t3', team('t3', 6000, formed('task-3', [['c', 'LEADER']])), 6000)
    teams.pipeInput('t4', team('t4', 5500, formed('task-4', [['c', 'MEMBER']])), 5500)
    // d is put in two teams at once: the first one's disbanding leaves it in the second.
    teams.pipeInput('t5', team('t5', 7000, formed('task-5', [['d', 'LEADER']])), 7000)
    teams.pipeInput('t6', team('t6', 8000, formed('task-6', [['d', 'MEMBER']])), 8000)
    teams.pipeInput('t5', team('t5', 9000, { 'agent_party.events.TeamDisbanded': { reason: 'done' } }), 9000)
    const out = driver
      .createOutputTopic(ENTITY_TOPICS.agents, str, snapshots)
      .readKeyValuesToList()
      .map(([id, a]) => [id, a?.team_id, a?.team_role, a?.team_since])
    expect(out).toEqual([
      ['a', 't1', 'LEADER', 1000],
      ['b', 't1', 'MEMBER', 1000],
      ['a', 't2', 'MEMBER', 3000],
      // The stale leave changes nothing (the snapshot goes out again, unchanged).
      ['a', 't2', 'MEMBER', 3000],
      ['b', null, null, 2000],
      ['b', 't2', 'REVIEWER', 4000],
      ['a', null, null, 5000],
      ['c', 't3', 'LEADER', 6000],
      ['c', 't3', 'LEADER', 6000],
      ['d', 't5', 'LEADER', 7000],
      ['d', 't6', 'MEMBER', 8000],
      ['d', 't6', 'MEMBER', 8000],
    ])
  })
})

describe('agent table rules', () => {
  it('keeps a terminated agent terminated, and an event before its creation builds a partial snapshot', () => {
    const config = resolveProcessorConfig()
    const driver = new TopologyTestDriver(agentPartyTopology(config, serdes))
    const input = driver.createInputTopic(config.inputTopics.agent_events, str, agentEvents)
    const event = (n: number, payload: AgentEvent['payload']): AgentEvent => ({
      event_id: `00000000-0000-4000-8000-00000000000${n}`,
      occurred_at: 1000 * n,
      agent_id: 'agent-x',
      payload,
    })
    input.pipeInput(
      'agent-x',
      event(1, { 'agent_party.events.AgentStatusChanged': { previous_status: 'IDLE', status: 'BUSY' } }),
      1000,
    )
    input.pipeInput(
      'agent-x',
      event(2, { 'agent_party.events.AgentTerminated': { reason: 'retired' } }),
      2000,
    )
    input.pipeInput(
      'agent-x',
      event(3, { 'agent_party.events.AgentStatusChanged': { previous_status: 'BUSY', status: 'IDLE' } }),
      3000,
    )
    const out = driver.createOutputTopic(config.outputTopics.agents, str, snapshots).readValuesToList()
    expect(out.map((a) => [a?.status, a?.template_id, a?.terminated_reason, a?.events])).toEqual([
      ['BUSY', null, null, 1],
      ['TERMINATED', null, 'retired', 2],
      ['TERMINATED', null, 'retired', 3],
    ])
  })
})

describe('resolveProcessorConfig', () => {
  it('defaults to the operations guide, and names a bad setting', () => {
    expect(resolveProcessorConfig()).toMatchObject({
      applicationId: 'agent_event_processor',
      inputTopics: { agent_events: 'agent_events', system_events: 'system_events' },
      outputTopics: { agents: 'agent_party.agents' },
      dedupHorizonMs: 3_600_000,
    })
    expect(() => resolveProcessorConfig({ dedupHorizonMs: 1.5 })).toThrow(
      /^dedupHorizonMs: got 1.5, expected a positive/,
    )
    expect(() => resolveProcessorConfig({ inputTopics: { agent_events: 'bad topic' } })).toThrow(
      /^inputTopics.agent_events:/,
    )
  })
})
