// Data-quality findings against a naive walk over the same events (plain loops, no shared code): a
// generated stream (duplicates, out-of-order and late events) broken on purpose in known ways (task
// creations and agent creations dropped, changes of terminated agents, second task outcomes, departures
// of non-members added); the findings are exact in the test driver, where all topics are read in the
// order piped. Every value of the entity and data-quality outputs is valid for its Avro schema.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ProcessorConfigError } from '../../../processors/config.js'
import {
  DATA_QUALITY_REASONS,
  type DataQualityIssue,
  type DataQualityRecord,
  dataQualityOutput,
} from '../../../processors/data-quality.js'
import { avroType } from '../../../schemas/bounded-avro-types.js'
import {
  type AgentEvent,
  type GeneratedRecord,
  generateRecords,
  type TaskEvent,
  type TeamEvent,
} from '../../../schemas/index.js'
import { type Serde, Serdes, StreamsBuilder, TopologyTestDriver } from '../../../topology/index.js'
import {
  dataQualityReference,
  ENTITY_TOPICS,
  entityTopology,
  type FindingRef,
} from '../../support/entity-references.js'
import { processorSerdes } from '../../support/processor-serdes.js'

const serdes = await processorSerdes()
const str = Serdes.String()
const NS = 'agent_party.events.'

let injected = 0
const newId = () => `ffffffff-0000-4000-8000-${String(++injected).padStart(12, '0')}`
const kind = (r: GeneratedRecord) => (Object.keys(r.event.payload)[0] ?? '').slice(NS.length)

/** The generated stream, broken in known ways. */
function brokenRecords(): GeneratedRecord[] {
  const generated = [
    ...generateRecords({
      seed: 31,
      count: 15_000,
      baseTime: Date.UTC(2026, 0, 1),
      duplicateShare: 0.03,
      outOfOrderShare: 0.05,
      lateShare: 0.02,
      lateByMs: 60_000,
    }),
  ].filter((r) => r.family !== 'system_events')
  // Every 12th task and 9th agent lose their creation (both copies).
  const dropped = new Set<string>()
  let tasks = 0
  let agents = 0
  for (const r of generated) {
    if (r.duplicate) continue
    if (kind(r) === 'TaskCreated' && ++tasks % 12 === 0) dropped.add(r.event.event_id)
    if (kind(r) === 'AgentCreated' && ++agents % 9 === 0) dropped.add(r.event.event_id)
  }
  const out: GeneratedRecord[] = []
  const add = (after: GeneratedRecord, family: GeneratedRecord['family'], key: string, event: object) =>
    out.push({
      ...after,
      family,
      key,
      event: { event_id: newId(), occurred_at: after.timestamp + 1, ...event },
      timestamp: after.timestamp + 1,
      duplicate: false,
      delay: 'none',
    } as GeneratedRecord)
  let terminated = 0
  let completed = 0
  let formed = 0
  for (const r of generated) {
    if (dropped.has(r.event.event_id)) continue
    out.push(r)
    if (r.duplicate) continue
    const type = kind(r)
    if (type === 'AgentTerminated' && ++terminated % 2 === 0) {
      add(r, 'agent_events', r.key, {
        agent_id: r.key,
        payload: { [`${NS}AgentStatusChanged`]: { previous_status: 'IDLE', status: 'BUSY' } },
      })
      add(r, 'agent_events', r.key, {
        agent_id: r.key,
        payload: { [`${NS}CapabilityAdded`]: { capability: { name: 'late-skill', category: 'misc' } } },
      })
    }
    if (type === 'TaskCompleted' && ++completed % 10 === 0) {
      add(r, 'task_events', r.key, {
        task_id: r.key,
        payload: { [`${NS}TaskCancelled`]: { reason: 'cancelled after the end' } },
      })
    }
    if (type === 'TeamFormed' && ++formed % 8 === 0) {
      add(r, 'team_events', r.key, {
        team_id: r.key,
        payload: { [`${NS}MemberLeft`]: { agent_id: `ghost-${formed}`, reason: 'never there' } },
      })
    }
  }
  return out
}

/** Pipes every record; with `commitEvery`, commits after each that many (a driver without autoCommit). */
function pipeAll(
  driver: TopologyTestDriver,
  records: readonly GeneratedRecord[],
  commitEvery?: number,
): void {
  const inputs = {
    agent_events: driver.createInputTopic(ENTITY_TOPICS.inputs.agent_events, str, serdes.agentEvents),
    team_events: driver.createInputTopic(ENTITY_TOPICS.inputs.team_events, str, serdes.teamEvents),
    task_events: driver.createInputTopic(ENTITY_TOPICS.inputs.task_events, str, serdes.taskEvents),
  }
  let piped = 0
  for (const r of records) {
    if (r.family === 'agent_events') inputs.agent_events.pipeInput(r.key, r.event as AgentEvent, r.timestamp)
    if (r.family === 'team_events') inputs.team_events.pipeInput(r.key, r.event as TeamEvent, r.timestamp)
    if (r.family === 'task_events') inputs.task_events.pipeInput(r.key, r.event as TaskEvent, r.timestamp)
    if (commitEvery !== undefined && ++piped % commitEvery === 0) driver.commit()
  }
  if (commitEvery !== undefined) driver.commit()
}

const ref = (f: FindingRef) => `${f.reason} ${f.entity_type} ${f.entity_id} ${f.event_id}`
const schema = (name: string) =>
  avroType(
    JSON.parse(readFileSync(new URL(`../../../schemas/avro/outputs/${name}.avsc`, import.meta.url), 'utf8')),
  )

describe('data-quality findings', () => {
  const records = brokenRecords()
  const counted = new Map<string, number>()
  const driver = new TopologyTestDriver(
    entityTopology(serdes, (reason, topic) => {
      counted.set(`${reason} ${topic}`, (counted.get(`${reason} ${topic}`) ?? 0) + 1)
    }),
  )
  pipeAll(driver, records)
  const findings = driver
    .createOutputTopic(ENTITY_TOPICS.dataQuality, str, Serdes.Json<DataQualityRecord>())
    .readKeyValuesToList()

  it('are the rule breaks a naive walk over the events finds, each once', () => {
    const want = dataQualityReference(records)
    const reasons = new Set(want.map((f) => f.reason))
    for (const reason of [
      'UNKNOWN_TASK',
      'TASK_ALREADY_ENDED',
      'TERMINATED_AGENT_CHANGE',
      'UNKNOWN_AGENT_MEMBER',
      'NOT_A_MEMBER',
    ])
      expect(reasons, reason).toContain(reason)
    expect(findings.map(([, f]) => ref(f as DataQualityRecord)).sort()).toEqual(want.map(ref).sort())
  })

  it('are keyed by entity id, name their input topic, and are counted by the hook', () => {
    const family = { agent: 'agent_events', team: 'team_events', task: 'task_events' } as const
    const byReason = new Map<string, number>()
    for (const [key, f] of findings) {
      const finding = f as DataQualityRecord
      expect(key).toBe(finding.entity_id)
      expect(DATA_QUALITY_REASONS).toContain(finding.reason)
      // Members are checked against the agent table, but the event is a team event.
      const topic =
        finding.reason.endsWith('_MEMBER') && finding.entity_type === 'agent'
          ? 'team_events'
          : family[finding.entity_type]
      expect(finding.topic).toBe(ENTITY_TOPICS.inputs[topic])
      byReason.set(
        `${finding.reason} ${finding.topic}`,
        (byReason.get(`${finding.reason} ${finding.topic}`) ?? 0) + 1,
      )
    }
    expect(counted).toEqual(byReason)
  })

  it('and the entity snapshots are valid for their Avro schemas, with no other field', () => {
    const opts = { noUndeclaredFields: true }
    for (const [topic, name] of [
      [ENTITY_TOPICS.agents, 'agents'],
      [ENTITY_TOPICS.teams, 'teams'],
      [ENTITY_TOPICS.tasks, 'tasks'],
      [ENTITY_TOPICS.dataQuality, 'data_quality'],
    ] as const) {
      const type = schema(name)
      // The findings were read above already.
      const values =
        topic === ENTITY_TOPICS.dataQuality
          ? findings.map(([, f]) => f)
          : driver.createOutputTopic(topic, str, Serdes.Json<object>()).readValuesToList()
      expect(values.length, name).toBeGreaterThan(0)
      for (const v of values) {
        if (!type.isValid(v, opts)) throw new Error(`${name}: invalid ${JSON.stringify(v)}`)
      }
    }
  })
})

describe('with the record caches holding updates between commits', () => {
  // The entity tables keep a record cache: an entity's snapshots within a commit go out as the last
  // one. The findings and the membership changes come from the fold steps, so none is lost with them.
  it('gives every finding, and each entity its last snapshot, in fewer output records', () => {
    const records = brokenRecords()
    const each = new TopologyTestDriver(entityTopology(serdes))
    pipeAll(each, records)
    const cached = new TopologyTestDriver(entityTopology(serdes), { autoCommit: false })
    pipeAll(cached, records, 500)
    const findingsOf = (driver: TopologyTestDriver) =>
      driver
        .createOutputTopic(ENTITY_TOPICS.dataQuality, str, Serdes.Json<DataQualityRecord>())
        .readValuesToList()
        .map((f) => ref(f as DataQualityRecord))
        .sort()
    expect(findingsOf(cached)).toEqual(dataQualityReference(records).map(ref).sort())
    for (const topic of [ENTITY_TOPICS.agents, ENTITY_TOPICS.teams, ENTITY_TOPICS.tasks]) {
      const all = (driver: TopologyTestDriver) =>
        driver.createOutputTopic(topic, str, Serdes.Json<object>()).readKeyValuesToList()
      const [one, other] = [all(each), all(cached)]
      const last = (pairs: typeof one) => Object.fromEntries(pairs.map(([k, v]) => [k as string, v]))
      // The same final table (agents: with their current team, from the membership changes).
      expect(last(other), topic).toEqual(last(one))
      expect(other.length, topic).toBeLessThan(one.length / 2)
    }
  })
})

describe('with the Avro serdes of the outputs', () => {
  it('the stores, snapshots and findings are the same as with JSON', () => {
    const records = brokenRecords().slice(0, 8000)
    const outputs = serdes.entityOutputs
    const json = new TopologyTestDriver(entityTopology(serdes))
    pipeAll(json, records)
    const binary = new TopologyTestDriver(entityTopology(serdes, undefined, outputs))
    pipeAll(binary, records)
    for (const [topic, serde] of [
      [ENTITY_TOPICS.agents, outputs.agents],
      [ENTITY_TOPICS.teams, outputs.teams],
      [ENTITY_TOPICS.tasks, outputs.tasks],
      [ENTITY_TOPICS.dataQuality, outputs.dataQuality],
    ] as const) {
      const want = json.createOutputTopic(topic, str, Serdes.Json<unknown>()).readKeyValuesToList()
      const got = binary.createOutputTopic(topic, str, serde as Serde<unknown>).readKeyValuesToList()
      expect(want.length, topic).toBeGreaterThan(0)
      // Avro gives records and maps as objects of their own classes: compare the plain data.
      expect(JSON.parse(JSON.stringify(got)), topic).toEqual(want)
    }
  })
})

describe('data-quality findings across a restart', () => {
  it('are the same when the tables are restored from their changelogs halfway, which hold only snapshots', () => {
    const records = brokenRecords()
    const half = Math.floor(records.length / 2)
    const findingsOf = (driver: TopologyTestDriver) =>
      driver
        .createOutputTopic(ENTITY_TOPICS.dataQuality, str, Serdes.Json<DataQualityRecord>())
        .readValuesToList()
        .map((f) => ref(f as DataQualityRecord))
    const whole = new TopologyTestDriver(entityTopology(serdes))
    pipeAll(whole, records)
    const want = findingsOf(whole)

    const first = new TopologyTestDriver(entityTopology(serdes))
    pipeAll(first, records.slice(0, half))
    const changelogs = Object.fromEntries(
      first
        .producedTopicNames()
        .filter((t) => t.endsWith('-changelog'))
        .map((t) => [
          t,
          first
            .createOutputTopic(t, Serdes.Buffer(), Serdes.Buffer())
            .readKeyValuesToList()
            .map(([key, value]) => ({ key, value })),
        ]),
    )
    for (const store of ['agents', 'teams', 'tasks']) {
      const logged = changelogs[`test-app-${store}-changelog`] ?? []
      expect(logged.length, store).toBeGreaterThan(0)
      for (const { value } of logged) {
        const snapshot = JSON.parse(String(value))
        expect(snapshot, store).not.toHaveProperty('snapshot')
        expect(snapshot, store).not.toHaveProperty('issue')
        expect(snapshot, store).toHaveProperty(`${store.slice(0, -1)}_id`)
      }
    }
    const before = findingsOf(first)
    const second = new TopologyTestDriver(entityTopology(serdes), { changelogs })
    pipeAll(second, records.slice(half))
    expect([...before, ...findingsOf(second)]).toEqual(want)
  })
})

describe('data-quality rules', () => {
  let n = 0
  const id = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`
  const agent = (agentId: string, at: number, payload: object): AgentEvent =>
    ({ event_id: id(), occurred_at: at, agent_id: agentId, payload }) as AgentEvent
  const team = (teamId: string, at: number, payload: object): TeamEvent =>
    ({ event_id: id(), occurred_at: at, team_id: teamId, payload }) as TeamEvent
  const task = (taskId: string, at: number, payload: object): TaskEvent =>
    ({ event_id: id(), occurred_at: at, task_id: taskId, payload }) as TaskEvent
  const created = (name: string) => ({
    [`${NS}AgentCreated`]: { template_id: 'tpl', version: 1, name, capabilities: [], model: null },
  })
  const member = (agent_id: string, role = 'MEMBER') => ({
    [`${NS}MemberJoined`]: { member: { agent_id, role } },
  })

  function run(
    feed: (pipe: { agent(e: AgentEvent): void; team(e: TeamEvent): void; task(e: TaskEvent): void }) => void,
  ) {
    const driver = new TopologyTestDriver(entityTopology(serdes))
    const a = driver.createInputTopic(ENTITY_TOPICS.inputs.agent_events, str, serdes.agentEvents)
    const t = driver.createInputTopic(ENTITY_TOPICS.inputs.team_events, str, serdes.teamEvents)
    const k = driver.createInputTopic(ENTITY_TOPICS.inputs.task_events, str, serdes.taskEvents)
    feed({
      agent: (e) => a.pipeInput(e.agent_id, e, e.occurred_at),
      team: (e) => t.pipeInput(e.team_id, e, e.occurred_at),
      task: (e) => k.pipeInput(e.task_id, e, e.occurred_at),
    })
    return {
      driver,
      findings: driver
        .createOutputTopic(ENTITY_TOPICS.dataQuality, str, Serdes.Json<DataQualityRecord>())
        .readValuesToList()
        .map((f) => [f?.reason, f?.entity_id, f?.event_type]),
    }
  }

  it('a task event before the creation is a finding once, even when the creation follows', () => {
    const { findings, driver } = run((pipe) => {
      pipe.task(task('k1', 3000, { [`${NS}TaskStarted`]: { team_id: 't1' } }))
      pipe.task(
        task('k1', 1000, {
          [`${NS}TaskCreated`]: { priority: 'LOW', required_capabilities: [], token_budget: 5 },
        }),
      )
      pipe.task(task('k1', 4000, { [`${NS}TaskCompleted`]: { tokens_used: { a: 1 }, duration_ms: 10 } }))
      pipe.task(task('k1', 5000, { [`${NS}TaskFailed`]: { error: 'boom', tokens_used: {} } }))
    })
    expect(findings).toEqual([
      ['UNKNOWN_TASK', 'k1', 'TaskStarted'],
      ['TASK_ALREADY_ENDED', 'k1', 'TaskFailed'],
    ])
    // The snapshots carry no finding, and every event still updated the task.
    const tasks = driver.createOutputTopic(ENTITY_TOPICS.tasks, str, Serdes.Json<object>()).readValuesToList()
    expect(
      tasks.map((t) => [(t as { status: string }).status, 'issue' in Object(t), 'snapshot' in Object(t)]),
    ).toEqual([
      ['RUNNING', false, false],
      ['RUNNING', false, false],
      ['COMPLETED', false, false],
      ['COMPLETED', false, false],
    ])
  })

  it('changes of a terminated agent, and members unknown or terminated', () => {
    const { findings } = run((pipe) => {
      pipe.agent(agent('a', 1000, created('a')))
      pipe.agent(agent('b', 1000, created('b')))
      pipe.agent(agent('b', 2000, { [`${NS}AgentTerminated`]: { reason: 'retired' } }))
      pipe.agent(
        agent('b', 3000, { [`${NS}AgentStatusChanged`]: { previous_status: 'IDLE', status: 'BUSY' } }),
      )
      pipe.agent(agent('b', 3100, { [`${NS}CapabilityRemoved`]: { capability_name: 'x' } }))
      // The agent's own status change after termination is one; joining a team is another.
      pipe.team(
        team('t1', 4000, {
          [`${NS}TeamFormed`]: {
            task_id: 'k1',
            members: [
              { agent_id: 'a', role: 'LEADER' },
              { agent_id: 'b', role: 'MEMBER' },
              { agent_id: 'ghost', role: 'MEMBER' },
            ],
            formation_score: 0.5,
            inference_time_ms: 3,
          },
        }),
      )
      // Leaving is no finding, even for the unknown agent.
      pipe.team(team('t1', 5000, { [`${NS}MemberLeft`]: { agent_id: 'ghost', reason: 'gone' } }))
    })
    expect(findings).toEqual([
      ['TERMINATED_AGENT_CHANGE', 'b', 'AgentStatusChanged'],
      ['TERMINATED_AGENT_CHANGE', 'b', 'CapabilityRemoved'],
      ['TERMINATED_AGENT_MEMBER', 'b', 'TeamFormed'],
      ['UNKNOWN_AGENT_MEMBER', 'ghost', 'TeamFormed'],
    ])
  })

  it('member changes of a team that is not formed, a second join and the departure of a non-member', () => {
    const { findings, driver } = run((pipe) => {
      pipe.agent(agent('a', 500, created('a')))
      pipe.agent(agent('b', 500, created('b')))
      pipe.team(
        team('t1', 1000, { [`${NS}TeamFormationRequested`]: { task_id: 'k1', required_capabilities: [] } }),
      )
      pipe.team(team('t1', 1100, member('a')))
      pipe.team(
        team('t1', 2000, {
          [`${NS}TeamFormed`]: {
            task_id: 'k1',
            members: [{ agent_id: 'a', role: 'LEADER' }],
            formation_score: 0.5,
            inference_time_ms: 3,
          },
        }),
      )
      pipe.team(team('t1', 2100, member('a', 'REVIEWER')))
      pipe.team(team('t1', 2200, { [`${NS}MemberLeft`]: { agent_id: 'b', reason: 'never joined' } }))
      pipe.team(team('t1', 3000, { [`${NS}TeamDisbanded`]: { reason: 'done' } }))
      pipe.team(team('t1', 3100, member('b')))
    })
    expect(findings).toEqual([
      ['TEAM_NOT_FORMED', 't1', 'MemberJoined'],
      ['ALREADY_A_MEMBER', 't1', 'MemberJoined'],
      ['NOT_A_MEMBER', 't1', 'MemberLeft'],
      ['TEAM_NOT_FORMED', 't1', 'MemberJoined'],
    ])
    // The joins before the formation and after the disbanding gave no agent a team; the second join
    // changed a's role.
    const agents = driver
      .createOutputTopic(
        ENTITY_TOPICS.agents,
        str,
        Serdes.Json<{ agent_id: string; team_id: string | null; team_role: string | null }>(),
      )
      .readValuesToList()
      .map((a) => [a?.agent_id, a?.team_id, a?.team_role])
    expect(agents).toEqual([
      ['a', null, null],
      ['b', null, null],
      ['a', 't1', 'LEADER'],
      ['a', 't1', 'REVIEWER'],
      ['a', null, null],
    ])
  })

  it('the output topic name is checked', () => {
    const builder = new StreamsBuilder()
    const stream = builder.stream<string, DataQualityIssue>('x', { keySerde: str, valueSerde: Serdes.Json() })
    const options = {
      keySerde: str,
      valueSerde: Serdes.Json<DataQualityRecord>(),
      inputTopics: ENTITY_TOPICS.inputs,
    }
    expect(() => dataQualityOutput([stream], { ...options, output: 'bad topic' })).toThrow(
      ProcessorConfigError,
    )
    expect(() => dataQualityOutput([stream], { ...options, output: 'bad topic' })).toThrow(
      /^outputTopics.dataQuality:/,
    )
  })
})
