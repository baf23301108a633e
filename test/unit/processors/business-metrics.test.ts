// The business metrics against naive references: plain loops over the distinct events in arrival
// order, each record counted in its tumbling window unless that window had closed (its end + grace at
// or before the largest timestamp seen so far by the aggregate, Kafka Streams' rule), on generated
// events with duplicates, out-of-order events and events late beyond the grace.
import { describe, expect, it } from 'vitest'
import { resolveProcessorConfig } from '../../../processors/config.js'
import type { FormationOutcomes, TaskOutcomes } from '../../../processors/metrics/business.js'
import { agentPartyTopology } from '../../../processors/topology.js'
import {
  type AgentEvent,
  type GeneratedRecord,
  generateRecords,
  type TaskEvent,
  type TeamEvent,
} from '../../../schemas/index.js'
import {
  type Serde,
  Serdes,
  TopologyTestDriver,
  type Windowed,
  WindowedSerdes,
} from '../../../topology/index.js'
import { distinctEvents } from '../../support/entity-references.js'
import { processorSerdes } from '../../support/processor-serdes.js'

const serdes = await processorSerdes()
const str = Serdes.String()
const config = resolveProcessorConfig({ metricsWindowMs: 60_000, metricsGraceMs: 30_000 })
const windowKey = WindowedSerdes.timeWindowed(str, config.metricsWindowMs)

const records: GeneratedRecord[] = [
  ...generateRecords({
    seed: 23,
    count: 40_000,
    // 100 events/s: 400 s of event time, so events late by 2 min miss closed windows.
    rate: 100,
    baseTime: Date.UTC(2026, 0, 1),
    duplicateShare: 0.02,
    outOfOrderShare: 0.05,
    lateShare: 0.02,
    lateByMs: 120_000,
  }),
]

const kind = (payload: object) => (Object.keys(payload)[0] ?? '').split('.').pop()
const body = (payload: object) => Object.values(payload)[0] as Record<string, unknown>

/** Per `key@windowStart`, the records of each key that were on time, folded with `add`. */
function windowed<T, A>(
  items: readonly T[],
  keyOf: (t: T) => string,
  timeOf: (t: T) => number,
  initial: () => A,
  add: (a: A, t: T) => A,
): { values: Map<string, A>; late: number } {
  const values = new Map<string, A>()
  let streamTime = Number.NEGATIVE_INFINITY
  let late = 0
  for (const t of items) {
    const time = timeOf(t)
    streamTime = Math.max(streamTime, time)
    const start = Math.floor(time / config.metricsWindowMs) * config.metricsWindowMs
    if (start + config.metricsWindowMs + config.metricsGraceMs <= streamTime) {
      late++
      continue
    }
    const id = `${keyOf(t)}@${start}`
    values.set(id, add(values.get(id) ?? initial(), t))
  }
  return { values, late }
}

function run(): TopologyTestDriver {
  const driver = new TopologyTestDriver(agentPartyTopology(config, serdes))
  const inputs = {
    agent_events: driver.createInputTopic(config.inputTopics.agent_events, str, serdes.agentEvents),
    team_events: driver.createInputTopic(config.inputTopics.team_events, str, serdes.teamEvents),
    task_events: driver.createInputTopic(config.inputTopics.task_events, str, serdes.taskEvents),
  }
  for (const r of records) {
    if (r.family === 'system_events') continue
    ;(inputs[r.family] as { pipeInput(k: string, v: unknown, t: number): void }).pipeInput(
      r.key,
      r.event,
      r.timestamp,
    )
  }
  return driver
}

function finalValues<V>(driver: TopologyTestDriver, topic: string, valueSerde: Serde<V>): Map<string, V> {
  const out = new Map<string, V>()
  for (const [key, value] of driver
    .createOutputTopic<Windowed<string>, V>(topic, windowKey, valueSerde)
    .readKeyValuesToList()) {
    out.set(`${key?.key}@${key?.window.start}`, value as V)
  }
  return out
}

const driver = run()

describe('business metrics', () => {
  it('agent instantiations per template and version and window', () => {
    const created = distinctEvents<AgentEvent>(records, 'agent_events', 'arrival').filter(
      (e) => kind(e.payload) === 'AgentCreated',
    )
    const expected = windowed(
      created,
      (e) => `${body(e.payload).template_id}@${body(e.payload).version}`,
      (e) => e.occurred_at,
      () => 0,
      (n) => n + 1,
    )
    expect(expected.values.size).toBeGreaterThan(1)
    expect(
      Object.fromEntries(finalValues(driver, config.outputTopics.agentInstantiations, Serdes.Long())),
    ).toEqual(Object.fromEntries(expected.values))
  })

  it('team formations per window: formed, failed, rate and reasons', () => {
    const outcomes = distinctEvents<TeamEvent>(records, 'team_events', 'arrival').filter((e) =>
      ['TeamFormed', 'TeamFormationFailed'].includes(kind(e.payload) ?? ''),
    )
    const expected = windowed(
      outcomes,
      () => 'all',
      (e) => e.occurred_at,
      (): FormationOutcomes => ({ formed: 0, failed: 0, success_rate: 0, failure_reasons: {} }),
      (a, e) => {
        if (kind(e.payload) === 'TeamFormed') a.formed++
        else {
          a.failed++
          const reason = body(e.payload).reason as string
          a.failure_reasons[reason] = (a.failure_reasons[reason] ?? 0) + 1
        }
        a.success_rate = a.formed / (a.formed + a.failed)
        return a
      },
    )
    expect([...expected.values.values()].some((v) => v.failed > 0)).toBe(true)
    expect(
      Object.fromEntries(
        finalValues(driver, config.outputTopics.teamFormations, Serdes.Json<FormationOutcomes>()),
      ),
    ).toEqual(Object.fromEntries(expected.values))
  })

  it("tokens per agent and per team and window, from each task's outcome", () => {
    const team = new Map<string, string>()
    const decided = new Set<string>()
    const perAgent: { key: string; time: number; tokens: number }[] = []
    const perTeam: { key: string; time: number; tokens: number }[] = []
    for (const e of distinctEvents<TaskEvent>(records, 'task_events', 'arrival')) {
      const k = kind(e.payload)
      const p = body(e.payload)
      if (k === 'TaskAssigned' || k === 'TaskStarted') team.set(e.task_id, p.team_id as string)
      if ((k === 'TaskCompleted' || k === 'TaskFailed' || k === 'TaskCancelled') && !decided.has(e.task_id)) {
        decided.add(e.task_id)
        const used = (p.tokens_used ?? {}) as Record<string, number>
        const total = Object.values(used).reduce((a, b) => a + b, 0)
        if (total === 0) continue
        for (const [agent, n] of Object.entries(used))
          perAgent.push({ key: agent, time: e.occurred_at, tokens: n })
        perTeam.push({ key: team.get(e.task_id) ?? 'UNKNOWN', time: e.occurred_at, tokens: total })
      }
    }
    const sum = (items: typeof perAgent) =>
      windowed(
        items,
        (i) => i.key,
        (i) => i.time,
        () => 0,
        (a, i) => a + i.tokens,
      ).values
    const byAgent = sum(perAgent)
    expect(byAgent.size).toBeGreaterThan(10)
    expect(Object.fromEntries(finalValues(driver, config.outputTopics.tokensByAgent, Serdes.Long()))).toEqual(
      Object.fromEntries(byAgent),
    )
    expect(Object.fromEntries(finalValues(driver, config.outputTopics.tokensByTeam, Serdes.Long()))).toEqual(
      Object.fromEntries(sum(perTeam)),
    )
  })

  it('tokens per agent template and window, the template as the agent table stood at the outcome', () => {
    const template = new Map<string, string>()
    const decided = new Set<string>()
    const seen = new Set<string>()
    const items: { key: string; time: number; tokens: number }[] = []
    for (const r of records) {
      const e = r.event as {
        event_id: string
        occurred_at: number
        payload: object
        agent_id?: string
        task_id?: string
      }
      if (r.family === 'system_events' || seen.has(e.event_id)) continue
      seen.add(e.event_id)
      const k = kind(e.payload)
      if (k === 'AgentCreated') template.set(e.agent_id as string, body(e.payload).template_id as string)
      if (
        (k === 'TaskCompleted' || k === 'TaskFailed' || k === 'TaskCancelled') &&
        !decided.has(e.task_id as string)
      ) {
        decided.add(e.task_id as string)
        for (const [agent, n] of Object.entries(
          (body(e.payload).tokens_used ?? {}) as Record<string, number>,
        )) {
          items.push({ key: template.get(agent) ?? 'UNKNOWN', time: e.occurred_at, tokens: n })
        }
      }
    }
    const expected = windowed(
      items,
      (i) => i.key,
      (i) => i.time,
      () => 0,
      (a, i) => a + i.tokens,
    ).values
    expect(new Set([...expected.keys()].map((k) => k.split('@')[0])).size).toBeGreaterThan(2)
    expect(
      Object.fromEntries(finalValues(driver, config.outputTopics.tokensByTemplate, Serdes.Long())),
    ).toEqual(Object.fromEntries(expected))
  })

  it('task outcomes per priority and window, each task counted once, late outcomes left out', () => {
    const priority = new Map<string, string>()
    const decided = new Set<string>()
    const outcomes: TaskEvent[] = []
    for (const e of distinctEvents<TaskEvent>(records, 'task_events', 'arrival')) {
      const k = kind(e.payload)
      if (k === 'TaskCreated') priority.set(e.task_id, body(e.payload).priority as string)
      if ((k === 'TaskCompleted' || k === 'TaskFailed' || k === 'TaskCancelled') && !decided.has(e.task_id)) {
        decided.add(e.task_id)
        outcomes.push(e)
      }
    }
    const expected = windowed(
      outcomes,
      (e) => priority.get(e.task_id) ?? 'UNKNOWN',
      (e) => e.occurred_at,
      (): TaskOutcomes => ({ completed: 0, failed: 0, cancelled: 0, completion_rate: 0, failure_rate: 0 }),
      (a, e) => {
        const k = kind(e.payload)
        if (k === 'TaskCompleted') a.completed++
        else if (k === 'TaskFailed') a.failed++
        else a.cancelled++
        const total = a.completed + a.failed + a.cancelled
        a.completion_rate = a.completed / total
        a.failure_rate = a.failed / total
        return a
      },
    )
    expect(expected.late).toBeGreaterThan(0)
    expect(
      Object.fromEntries(finalValues(driver, config.outputTopics.taskOutcomes, Serdes.Json<TaskOutcomes>())),
    ).toEqual(Object.fromEntries(expected.values))
  })
})
