// The whole Agent Party topology through the real runner (`startProcessor`, what `agent-party run
// processor` runs): generated events (with duplicates, out-of-order and late ones) produced to the
// broker in the registry wire format, processed exactly once, every output written in its registered
// Avro schema. What one topic determines is compared exactly with the naive references (the entity
// snapshots, instantiations per template on both windowings); what joins topics, whose relative timing
// on a broker is not deterministic, is checked for its invariants.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAdmin } from '../../kafka/clients.js'
import { resolveProcessorConfig } from '../../processors/config.js'
import { DATA_QUALITY_REASONS, type DataQualityRecord } from '../../processors/data-quality.js'
import type { AgentSnapshot } from '../../processors/entities/agents.js'
import type { TaskSnapshot } from '../../processors/entities/tasks.js'
import type { TeamSnapshot } from '../../processors/entities/teams.js'
import type { AgentInstantiationsValue, TokensByAgentValue } from '../../processors/metrics/business.js'
import { OUTPUT_NAMES, type OutputName, outputSubjects } from '../../processors/outputs.js'
import { type RunningProcessor, startProcessor } from '../../processors/run-processor.js'
import { createProcessorSerdes } from '../../processors/serdes.js'
import {
  type AgentEvent,
  generateRecords,
  produceEvents,
  registerEventSchemas,
  registerSchemas,
  registrySchemaLookup,
  type TaskEvent,
  type TeamEvent,
  valueSubject,
} from '../../schemas/index.js'
import {
  agentFields,
  agentReference,
  distinctEvents,
  taskFields,
  taskReference,
  teamFields,
  teamReference,
} from '../support/entity-references.js'
import { deleteTestTopics, type RawRecord, readTopicRaw } from '../support/kafka.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'
import { prefixedFamilies } from './schemas/prefixed-families.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig({ STATE_DIR: mkdtempSync(join(tmpdir(), 'processors-')), LOG_LEVEL: 'warn' })
const { topics, client, createTopics, cleanUp } = prefixedFamilies(config, prefix)
const outputTopics = Object.fromEntries(OUTPUT_NAMES.map((name) => [name, `${prefix}-${name}`])) as Record<
  OutputName,
  string
>
const applicationId = `${prefix}-app`
const processor = resolveProcessorConfig({
  applicationId,
  inputTopics: topics,
  outputTopics,
  // Grace beyond the run's whole event time: on a broker, records reach an aggregate through
  // repartition topics written by several tasks, and the skew between them can make on-time events
  // late for a 30 s grace. Here nothing may be late, so that the counts are exact and the join's
  // invariant holds to the token.
  metricsGraceMs: 600_000,
})
const generator = {
  seed: 'processors-topology',
  count: 100_000,
  // Recent event times, so the broker's retention keeps them.
  baseTime: Date.now() - 600_000,
  duplicateShare: 0.02,
  outOfOrderShare: 0.05,
  lateShare: 0.01,
  lateByMs: 20_000,
}
const lookup = registrySchemaLookup(client)
let running: RunningProcessor | undefined

beforeAll(async () => {
  await createTopics(4)
  await registerEventSchemas(client, { topics })
  await registerSchemas(client, outputSubjects(outputTopics))
  await produceEvents({ ...generator, batchSize: 2000, topics, target: { kind: 'kafka', config } })
}, 120_000)

afterAll(async () => {
  await running?.close()
  await cleanUp()
  const admin = createAdmin(config.kafka, 'cleanup')
  try {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix))
    await deleteTestTopics(config, mine)
  } finally {
    await admin.close()
  }
  for (const topic of Object.values(outputTopics)) await client.deleteSubject(valueSubject(topic), true)
})

const read = (topic: string) =>
  readTopicRaw(config, topic, { expected: 1, isolation: 'read_committed', quietMs: 500 })

describe('the Agent Party topology on the real runtime', () => {
  it('ends with the references where one topic decides, and keeps its invariants where topics join', async () => {
    const records = [...generateRecords(generator)]
    const agentEvents = distinctEvents<AgentEvent>(records, 'agent_events', 'arrival')
    const agents = agentReference(agentEvents)
    const teams = teamReference(distinctEvents<TeamEvent>(records, 'team_events', 'event-time'))
    const tasks = taskReference(distinctEvents<TaskEvent>(records, 'task_events', 'event-time'))
    const serdes = await createProcessorSerdes(processor, { encoding: 'registry', lookup })
    const decode = <T>(name: OutputName, r: RawRecord) =>
      r.value === undefined ? null : serdes.output<T>(name).deserialize(outputTopics[name], r.value)
    const last = async <T>(name: OutputName, keyOf = (r: RawRecord) => r.key?.toString('hex') ?? '') => {
      const out = new Map<string, T | null>()
      for (const r of await read(outputTopics[name])) out.set(keyOf(r), decode<T>(name, r))
      return out
    }
    const byId = (r: RawRecord) => r.key?.toString() ?? ''

    running = await startProcessor(config, { processor, metricsPort: 0, outputPartitions: 4 })
    const probe = `http://127.0.0.1:${running.port}`

    // Done when every task's last snapshot has applied all its events.
    const deadline = Date.now() + 150_000
    let gotTasks = new Map<string, TaskSnapshot | null>()
    for (;;) {
      gotTasks = await last<TaskSnapshot>('tasks', byId)
      if ([...tasks].every(([id, t]) => gotTasks.get(id)?.events === t.events) || Date.now() > deadline) break
    }
    expect(gotTasks.size).toBe(tasks.size)
    for (const [id, want] of tasks) expect(taskFields(gotTasks.get(id) as TaskSnapshot), id).toEqual(want)
    const gotTeams = await last<TeamSnapshot>('teams', byId)
    expect(gotTeams.size).toBe(teams.size)
    for (const [id, want] of teams) expect(teamFields(gotTeams.get(id) as TeamSnapshot), id).toEqual(want)
    const gotAgents = await last<AgentSnapshot>('agents', byId)
    expect(gotAgents.size).toBe(agents.size)
    for (const [id, want] of agents) expect(agentFields(gotAgents.get(id) as AgentSnapshot), id).toEqual(want)

    // Instantiations per template and version: one topic decides, so each window's last value is the
    // reference's count, on the 1-minute windows and on the hourly ones hopping by 5 minutes.
    const expectInstantiations = async (name: OutputName, sizeMs: number, advanceMs: number) => {
      const want = new Map<string, number>()
      for (const e of agentEvents) {
        const created = (e.payload as Record<string, { template_id: string; version: number }>)[
          'agent_party.events.AgentCreated'
        ]
        if (created === undefined) continue
        const first = Math.floor((e.occurred_at - sizeMs + advanceMs) / advanceMs) * advanceMs
        for (let start = Math.max(0, first); start <= e.occurred_at; start += advanceMs) {
          const id = `${created.template_id}@${created.version}@${start}`
          want.set(id, (want.get(id) ?? 0) + 1)
        }
      }
      const got = async () => {
        const out = new Map<string, number>()
        for (const v of (await last<AgentInstantiationsValue>(name)).values()) {
          if (v === null) continue
          expect(v.window_end - v.window_start).toBe(sizeMs)
          out.set(`${v.template_id}@${v.version}@${v.window_start}`, v.count)
        }
        return out
      }
      let counts = await got()
      while ([...want].some(([id, n]) => counts.get(id) !== n) && Date.now() < deadline) counts = await got()
      expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(want))
    }
    await expectInstantiations('agentInstantiations', 60_000, 60_000)
    await expectInstantiations('agentInstantiationsHourly', 3_600_000, 300_000)

    // Tokens per template join the agent table (another topic); per window, the tokens of all
    // templates still add up to those of all agents.
    const totalsPerWindow = async (name: OutputName) => {
      const totals = new Map<number, number>()
      for (const v of (await last<TokensByAgentValue>(name)).values())
        if (v !== null) totals.set(v.window_start, (totals.get(v.window_start) ?? 0) + v.tokens)
      return Object.fromEntries(totals)
    }
    let byAgent = await totalsPerWindow('tokensByAgent')
    let byTemplate = await totalsPerWindow('tokensByTemplate')
    while (JSON.stringify(byAgent) !== JSON.stringify(byTemplate) && Date.now() < deadline) {
      byAgent = await totalsPerWindow('tokensByAgent')
      byTemplate = await totalsPerWindow('tokensByTemplate')
    }
    expect(Object.keys(byAgent).length).toBeGreaterThan(0)
    expect(byTemplate).toEqual(byAgent)

    // Every task outcome is attributed to its team exactly once (the team's members depend on timing).
    const outcomes = [...tasks.values()].filter((t) =>
      ['COMPLETED', 'FAILED', 'CANCELLED'].includes(t.status as string),
    )
    const attributed = await last<{ task_id: string; tokens_used: number }>('teamTaskAttribution', byId)
    expect(attributed.size).toBe(outcomes.length)

    // Data-quality findings (members of teams the agent table does not know yet, on a broker) name a
    // known reason and an input topic.
    const findings = [
      ...(await last<DataQualityRecord>('dataQuality', (r) => `${r.partition}/${r.offset}`)).values(),
    ]
    for (const f of findings) {
      expect(DATA_QUALITY_REASONS).toContain(f?.reason)
      expect(Object.values(topics)).toContain(f?.topic)
    }

    // The probes: ready once running, and the duplicates dropped counted per topic.
    expect((await fetch(`${probe}/ready`)).status).toBe(200)
    const metrics = await (await fetch(`${probe}/metrics`)).text()
    const dropped = [
      ...metrics.matchAll(/^agent_party_streams_duplicate_events_total\{[^}]*\} (\d+)/gm),
    ].reduce((n, m) => n + Number(m[1]), 0)
    const distinct = new Set(records.map((r) => (r.event as { event_id: string }).event_id)).size
    expect(dropped).toBe(records.length - distinct)
  }, 240_000)
})
