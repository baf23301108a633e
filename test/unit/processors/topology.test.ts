// The whole topology's event time: every window follows the events' occurred_at, whatever timestamp
// the producer put on the Kafka record (a producer stamps records when it sends them, which a retry or
// a backlog can put minutes after the event).
import { describe, expect, it } from 'vitest'
import { resolveProcessorConfig } from '../../../processors/config.js'
import type { AgentInstantiationsValue } from '../../../processors/metrics/business.js'
import { agentPartyTopology } from '../../../processors/topology.js'
import type { AgentEvent } from '../../../schemas/index.js'
import { NO_HEADERS, Serdes, TopologyTestDriver, WindowedSerdes } from '../../../topology/index.js'
import { processorSerdes } from '../../support/processor-serdes.js'

const serdes = await processorSerdes()
const str = Serdes.String()
const MINUTE = 60_000
const created = (agentId: string, occurredAt: number): AgentEvent => ({
  event_id: `00000000-0000-4000-8000-${String(occurredAt).padStart(12, '0')}`,
  occurred_at: occurredAt,
  agent_id: agentId,
  payload: {
    'agent_party.events.AgentCreated': {
      template_id: 'researcher',
      version: 2,
      name: agentId,
      capabilities: [],
      model: 'm',
    },
  } as AgentEvent['payload'],
})

describe('the topology', () => {
  it("windows events by occurred_at, not by the record's timestamp", () => {
    const config = resolveProcessorConfig()
    const driver = new TopologyTestDriver(agentPartyTopology(config, serdes))
    const input = driver.createInputTopic(config.inputTopics.agent_events, str, serdes.agentEvents)
    const base = Date.UTC(2026, 0, 1)
    // Sent five minutes after it happened: it still counts in its own minute.
    input.pipeInput('a1', created('a1', base + 10_000), base + 5 * MINUTE)
    input.pipeInput('a2', created('a2', base + 5 * MINUTE + 10_000), base + 5 * MINUTE + 10_000)
    const windows = driver
      .createOutputTopic(
        config.outputTopics.agentInstantiations,
        WindowedSerdes.timeWindowed(str, MINUTE),
        serdes.output<AgentInstantiationsValue>('agentInstantiations'),
      )
      .readValuesToList()
      .map((v) => [(v?.window_start ?? 0) - base, v?.count])
    expect(windows).toEqual([
      [0, 1],
      [5 * MINUTE, 1],
    ])
  })

  it('sends an event from beyond maxFutureSkewMs to the dead letters, with why, and goes on', () => {
    const config = resolveProcessorConfig({ maxFutureSkewMs: 60 * MINUTE })
    const driver = new TopologyTestDriver(agentPartyTopology(config, serdes))
    const input = driver.createInputTopic(config.inputTopics.agent_events, str, serdes.agentEvents)
    const now = Date.now()
    input.pipeInput('a1', created('a1', now + 2 * 60 * MINUTE), now)
    input.pipeInput('a2', created('a2', now - MINUTE), now)
    const letters = driver.readDeadLetters()
    expect(letters.map((l) => [l.cause.code, l.record.offset])).toEqual([['INVALID_TIMESTAMP', 0]])
    expect(letters[0]?.cause.reason).toMatch(/ahead of this processor's clock \(maxFutureSkewMs 3600000\)/)
    const counted = driver
      .createOutputTopic(
        config.outputTopics.agentInstantiations,
        WindowedSerdes.timeWindowed(str, MINUTE),
        serdes.output<AgentInstantiationsValue>('agentInstantiations'),
      )
      .readValuesToList()
      .map((v) => v?.count)
    expect(counted).toEqual([1])
  })

  it('passes over tombstones and undecodable values on every input topic, without failing', () => {
    const config = resolveProcessorConfig()
    const driver = new TopologyTestDriver(agentPartyTopology(config, serdes))
    const now = Date.now()
    for (const topic of Object.values(config.inputTopics)) {
      driver.pipe(topic, Buffer.from('k'), null, now, NO_HEADERS)
      driver.pipe(topic, Buffer.from('k'), Buffer.from('not avro'), now, NO_HEADERS)
    }
    // The undecodable ones are dead letters, with their topic; the tombstones carry no event.
    const letters = driver.readDeadLetters()
    expect(letters.map((l) => [l.record.topic, l.cause.code]).sort()).toEqual(
      Object.values(config.inputTopics)
        .map((t) => [t, 'DESERIALIZATION_FAILED'])
        .sort(),
    )
    const input = driver.createInputTopic(config.inputTopics.agent_events, str, serdes.agentEvents)
    input.pipeInput('a1', created('a1', now - MINUTE), now)
    expect(
      driver
        .createOutputTopic(config.outputTopics.agents, str, serdes.agentSnapshot)
        .readValuesToList()
        .map((a) => a?.agent_id),
    ).toEqual(['a1'])
  })

  it('dead-letters an event without a key, saying which field keys its topic, and goes on', () => {
    const config = resolveProcessorConfig()
    // The runtime's default; the driver's is to fail.
    const driver = new TopologyTestDriver(agentPartyTopology(config, serdes), {
      processingExceptionHandler: 'dead-letter',
    })
    const topic = config.inputTopics.agent_events
    const now = Date.now()
    driver.pipe(
      topic,
      null,
      serdes.agentEvents.serialize(topic, created('a1', now - MINUTE)),
      now,
      NO_HEADERS,
    )
    const letters = driver.readDeadLetters()
    expect(letters.map((l) => l.cause.code)).toEqual(['PROCESSING_FAILED'])
    expect(letters[0]?.cause.reason).toMatch(/has no key: agent_events events are keyed by agent_id/)
    const input = driver.createInputTopic(topic, str, serdes.agentEvents)
    input.pipeInput('a2', created('a2', now - MINUTE + 1), now)
    expect(
      driver
        .createOutputTopic(config.outputTopics.agents, str, serdes.agentSnapshot)
        .readValuesToList()
        .map((a) => a?.agent_id),
    ).toEqual(['a2'])
  })
})
