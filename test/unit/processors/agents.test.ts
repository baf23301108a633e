// The agent table against a deliberately naive reading of the same generated events (plain loops, no
// DSL, no shared code): the last snapshot of every agent equals the reference, duplicates excluded.
import { describe, expect, it } from 'vitest'
import { resolveProcessorConfig } from '../../../processors/config.js'
import type { AgentSnapshot } from '../../../processors/entities/agents.js'
import { agentPartyTopology } from '../../../processors/topology.js'
import { type AgentEvent, generateRecords } from '../../../schemas/index.js'
import { Serdes, TopologyTestDriver } from '../../../topology/index.js'
import { agentFields, agentReference, distinctEvents } from '../../support/entity-references.js'
import { processorSerdes } from '../../support/processor-serdes.js'

const serdes = await processorSerdes()
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
