// The entity tables' output topics are also their stores' changelogs (Materialized.withChangelogTopic):
// a task restored from them must go on exactly where it was. The same generated events in one run, and
// in two runs where the second restores every store from what the first wrote (the entity stores from
// their output topics, the others from their changelogs), end with the same snapshot of every agent,
// team and task, each counting its events once.
import { describe, expect, it } from 'vitest'
import { resolveProcessorConfig } from '../../../processors/config.js'
import { agentPartyTopology } from '../../../processors/topology.js'
import {
  type AgentEvent,
  type GeneratedRecord,
  generateRecords,
  type SystemEvent,
  type TaskEvent,
  type TeamEvent,
} from '../../../schemas/index.js'
import { type ChangelogRecord, Serdes, TopologyTestDriver } from '../../../topology/index.js'
import { processorSerdes } from '../../support/processor-serdes.js'

const serdes = await processorSerdes()
const config = resolveProcessorConfig()
const str = Serdes.String()
const raw = Serdes.Buffer()
const ENTITIES = ['agents', 'teams', 'tasks'] as const

const records: GeneratedRecord[] = [
  ...generateRecords({
    seed: 17,
    count: 6000,
    baseTime: Date.UTC(2026, 0, 1),
    duplicateShare: 0.03,
    outOfOrderShare: 0.05,
    lateShare: 0.01,
  }),
]

function run(
  list: readonly GeneratedRecord[],
  changelogs?: Record<string, ChangelogRecord[]>,
  stateStore: 'memory' | 'lmdb' = 'memory',
): TopologyTestDriver {
  const driver = new TopologyTestDriver(agentPartyTopology(config, serdes), {
    stateStore,
    ...(changelogs ? { changelogs } : {}),
  })
  const { inputTopics: t } = config
  const agents = driver.createInputTopic(t.agent_events, str, serdes.agentEvents)
  const teams = driver.createInputTopic(t.team_events, str, serdes.teamEvents)
  const tasks = driver.createInputTopic(t.task_events, str, serdes.taskEvents)
  const system = driver.createInputTopic(t.system_events, str, serdes.systemEvents)
  for (const r of list) {
    if (r.family === 'agent_events') agents.pipeInput(r.key, r.event as AgentEvent, r.timestamp)
    if (r.family === 'team_events') teams.pipeInput(r.key, r.event as TeamEvent, r.timestamp)
    if (r.family === 'task_events') tasks.pipeInput(r.key, r.event as TaskEvent, r.timestamp)
    if (r.family === 'system_events') system.pipeInput(r.key, r.event as SystemEvent, r.timestamp)
  }
  driver.commit()
  return driver
}

function rawRecords(driver: TopologyTestDriver, topic: string): ChangelogRecord[] {
  return driver
    .createOutputTopic(topic, raw, raw)
    .readKeyValuesToList()
    .map(([key, value]) => ({ key, value }))
}

/** The last snapshot of each entity, decoded, over the records in order. */
function snapshots(
  entity: (typeof ENTITIES)[number],
  list: readonly ChangelogRecord[],
): Map<string, unknown> {
  const topic = config.outputTopics[entity]
  const out = new Map<string, unknown>()
  for (const r of list)
    out.set(
      str.deserialize(topic, r.key as Buffer),
      r.value && serdes.output(entity).deserialize(topic, r.value),
    )
  return out
}

describe.each(['memory', 'lmdb'] as const)(
  'the entity tables restored from their output topics into %s',
  (stateStore) => {
    it('end with the same snapshots as one uninterrupted run', () => {
      const whole = run(records)
      const half = records.length / 2
      const first = run(records.slice(0, half))
      // What a new owner of every task restores from: the entity outputs and the internal changelogs.
      const changelogs: Record<string, ChangelogRecord[]> = {}
      for (const topic of first.producedTopicNames()) {
        const entity = ENTITIES.find((e) => config.outputTopics[e] === topic)
        if (entity !== undefined || topic.endsWith('-changelog')) changelogs[topic] = rawRecords(first, topic)
      }
      for (const entity of ENTITIES)
        expect(changelogs[config.outputTopics[entity]]?.length).toBeGreaterThan(300)
      const second = run(records.slice(half), changelogs, stateStore)
      for (const entity of ENTITIES) {
        const topic = config.outputTopics[entity]
        const expected = snapshots(entity, rawRecords(whole, topic))
        const resumed = snapshots(entity, [...(changelogs[topic] ?? []), ...rawRecords(second, topic)])
        expect(resumed.size).toBe(expected.size)
        expect(resumed).toEqual(expected)
      }
      second.close()
    }, 120_000)
  },
)
