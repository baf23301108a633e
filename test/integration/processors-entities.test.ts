// The Agent Party topology's entity tables through the real runtime: generated events (with duplicates,
// out-of-order and late ones) produced to the broker in the registry wire format, decoded by the
// registry serdes (their prepare step awaited per fetch), processed exactly once; the last snapshot of
// every agent, team and task equals the naive reference's final values.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveProcessorConfig } from '../../processors/config.js'
import type { AgentSnapshot } from '../../processors/entities/agents.js'
import type { TaskSnapshot } from '../../processors/entities/tasks.js'
import type { TeamSnapshot } from '../../processors/entities/teams.js'
import { engineSerde } from '../../processors/event-serdes.js'
import { agentPartyTopology } from '../../processors/topology.js'
import {
  type AgentEvent,
  createEventSerdes,
  generateRecords,
  produceEvents,
  registerEventSchemas,
  type TaskEvent,
  type TeamEvent,
} from '../../schemas/index.js'
import { Serdes } from '../../topology/index.js'
import { KafkaStreams } from '../../topology/runtime/index.js'
import {
  agentFields,
  agentReference,
  distinctEvents,
  taskFields,
  taskReference,
  teamFields,
  teamReference,
} from '../support/entity-references.js'
import { createTestTopics, deleteTestTopics, readTopicRaw } from '../support/kafka.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'
import { prefixedFamilies } from './schemas/prefixed-families.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig()
const { topics, client, createTopics, cleanUp } = prefixedFamilies(config, prefix)
const outputs = {
  agents: `${prefix}-agents`,
  teams: `${prefix}-teams`,
  tasks: `${prefix}-tasks`,
  agentInstantiations: `${prefix}-agent-instantiations`,
  teamFormations: `${prefix}-team-formations`,
  taskOutcomes: `${prefix}-task-outcomes`,
  tokensByAgent: `${prefix}-tokens-by-agent`,
  tokensByTeam: `${prefix}-tokens-by-team`,
  tokensByTemplate: `${prefix}-tokens-by-template`,
}
const applicationId = `${prefix}-app`
const generator = {
  seed: 'processors-entities',
  count: 200_000,
  // Recent event times, so the broker's retention keeps them.
  baseTime: Date.now() - 600_000,
  duplicateShare: 0.02,
  outOfOrderShare: 0.05,
  lateShare: 0.01,
  lateByMs: 20_000,
}

beforeAll(async () => {
  await createTopics(4)
  await createTestTopics(config, Object.values(outputs), 4)
  await registerEventSchemas(client, { topics })
  await produceEvents({ ...generator, batchSize: 2000, topics, target: { kind: 'kafka', config } })
}, 120_000)

afterAll(async () => {
  await cleanUp()
  const internal = [
    'agents',
    'teams',
    'tasks',
    'agent-events-dedup-seen-ids',
    'team-events-dedup-seen-ids',
    'task-events-dedup-seen-ids',
  ]
  await deleteTestTopics(config, [
    ...Object.values(outputs),
    `${applicationId}-dlq`,
    `${applicationId}-late`,
    ...internal.map((s) => `${applicationId}-${s}`),
  ])
})

function lastSnapshots<S>(records: { key: Buffer | undefined; value: Buffer | undefined }[]): Map<string, S> {
  const out = new Map<string, S>()
  for (const r of records) out.set(r.key?.toString() ?? '', JSON.parse(r.value?.toString() ?? 'null') as S)
  return out
}

describe('entity tables on the real runtime', () => {
  it("end with every entity's reference snapshot, duplicates dropped, exactly once", async () => {
    const records = [...generateRecords(generator)]
    const agents = agentReference(distinctEvents<AgentEvent>(records, 'agent_events', 'arrival'))
    const teams = teamReference(distinctEvents<TeamEvent>(records, 'team_events', 'event-time'))
    const tasks = taskReference(distinctEvents<TaskEvent>(records, 'task_events', 'event-time'))

    const events = await createEventSerdes({ registryUrl: config.schemaRegistry.url, topics })
    let duplicates = 0
    const topology = agentPartyTopology(
      resolveProcessorConfig({
        applicationId,
        inputTopics: topics,
        outputTopics: outputs,
        // Grace beyond the run's whole event time: on a broker, records reach an aggregate through
        // repartition topics written by several tasks, and the skew between them (more with two hops,
        // as tokens per template has) can make on-time events late for a 30 s grace. Here nothing may be
        // late, so that the counts are exact and the join's invariant holds to the token.
        metricsGraceMs: 600_000,
      }),
      {
        agentEvents: engineSerde(events.agent_events),
        teamEvents: engineSerde(events.team_events),
        taskEvents: engineSerde(events.task_events),
        agentSnapshot: Serdes.Json(),
        teamSnapshot: Serdes.Json(),
        taskSnapshot: Serdes.Json(),
      },
      { onDuplicate: () => duplicates++ },
    )
    const streams = new KafkaStreams(topology, {
      applicationId,
      bootstrapServers: config.kafka.bootstrapServers,
      stateDir: mkdtempSync(join(tmpdir(), 'processors-')),
    })
    await streams.start()
    try {
      // Done when every task's last snapshot has applied all its events.
      const deadline = Date.now() + 90_000
      let gotTasks = new Map<string, TaskSnapshot>()
      for (;;) {
        gotTasks = lastSnapshots<TaskSnapshot>(
          await readTopicRaw(config, outputs.tasks, {
            expected: 1,
            isolation: 'read_committed',
            quietMs: 500,
          }),
        )
        const done = [...tasks].every(([id, t]) => gotTasks.get(id)?.events === t.events)
        if (done || Date.now() > deadline) break
      }
      const read = (topic: string) =>
        readTopicRaw(config, topic, { expected: 1, isolation: 'read_committed', quietMs: 500 })
      const gotAgents = lastSnapshots<AgentSnapshot>(await read(outputs.agents))
      const gotTeams = lastSnapshots<TeamSnapshot>(await read(outputs.teams))

      expect(gotTasks.size).toBe(tasks.size)
      for (const [id, want] of tasks) expect(taskFields(gotTasks.get(id) as TaskSnapshot), id).toEqual(want)
      expect(gotTeams.size).toBe(teams.size)
      for (const [id, want] of teams) expect(teamFields(gotTeams.get(id) as TeamSnapshot), id).toEqual(want)
      expect(gotAgents.size).toBe(agents.size)
      for (const [id, want] of agents)
        expect(agentFields(gotAgents.get(id) as AgentSnapshot), id).toEqual(want)
      // The metrics: every event is on time here (grace 10 min), so each window's final value counts
      // all its records; the repartition hops add commit intervals, hence the wait.
      const windowOf = (t: number) => Math.floor(t / 60_000) * 60_000
      const instantiations = new Map<string, number>()
      for (const e of distinctEvents<AgentEvent>(records, 'agent_events', 'arrival')) {
        const created = (e.payload as Record<string, { template_id: string; version: number }>)[
          'agent_party.events.AgentCreated'
        ]
        if (created === undefined) continue
        const id = `${created.template_id}@${created.version}@${windowOf(e.occurred_at)}`
        instantiations.set(id, (instantiations.get(id) ?? 0) + 1)
      }
      const readWindowedCounts = async () => {
        const out = new Map<string, number>()
        for (const r of await read(outputs.agentInstantiations)) {
          const key = r.key as Buffer
          out.set(
            `${key.subarray(0, key.length - 8).toString()}@${Number(key.readBigInt64BE(key.length - 8))}`,
            Number((r.value as Buffer).readBigInt64BE(0)),
          )
        }
        return out
      }
      let counts = await readWindowedCounts()
      while (
        Object.entries(Object.fromEntries(instantiations)).some(([id, n]) => counts.get(id) !== n) &&
        Date.now() < deadline
      ) {
        counts = await readWindowedCounts()
      }
      expect(Object.fromEntries(counts)).toEqual(Object.fromEntries(instantiations))

      // A join across topics (tokens per template, the template from the agent table) depends on how
      // the topics interleave on the broker; its invariant does not: per window, the tokens of all
      // templates add up to those of all agents.
      const totalsPerWindow = async (topic: string) => {
        const last = new Map<string, number>()
        for (const r of await read(topic))
          last.set((r.key as Buffer).toString('hex'), Number((r.value as Buffer).readBigInt64BE(0)))
        const totals = new Map<number, number>()
        for (const [hex, n] of last) {
          const key = Buffer.from(hex, 'hex')
          const start = Number(key.readBigInt64BE(key.length - 8))
          totals.set(start, (totals.get(start) ?? 0) + n)
        }
        return Object.fromEntries(totals)
      }
      let byAgent = await totalsPerWindow(outputs.tokensByAgent)
      let byTemplate = await totalsPerWindow(outputs.tokensByTemplate)
      while (JSON.stringify(byAgent) !== JSON.stringify(byTemplate) && Date.now() < deadline) {
        byAgent = await totalsPerWindow(outputs.tokensByAgent)
        byTemplate = await totalsPerWindow(outputs.tokensByTemplate)
      }
      expect(Object.keys(byAgent).length).toBeGreaterThan(0)
      expect(byTemplate).toEqual(byAgent)
      const distinct = new Set(records.map((r) => (r.event as { event_id: string }).event_id)).size
      const systemDuplicates = records.filter((r) => r.family === 'system_events' && r.duplicate).length
      expect(duplicates).toBe(records.length - distinct - systemDuplicates)
    } finally {
      await streams.close()
    }
  }, 150_000)
})
