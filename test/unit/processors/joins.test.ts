// The joins against naive references (test/support/join-references.ts): team attribution of task
// outcomes and its per-team windows, the idle agents per capability and the capacity each formation
// request met, on generated events (duplicates, out-of-order and late events) fed in the generator's
// interleaved order and with the tables' input first, the references replaying the same order. Then
// small hand-built cases: retractions, tombstones, non-members, tasks without a team, bad options.
import { readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { ProcessorConfigError, resolveProcessorConfig } from '../../../processors/config.js'
import { dropDuplicates } from '../../../processors/dedup.js'
import { type AgentSnapshot, agentEntities, emptyAgent } from '../../../processors/entities/agents.js'
import { emptyTask, type TaskSnapshot, taskEntities } from '../../../processors/entities/tasks.js'
import { emptyTeam, type TeamSnapshot, teamEntities } from '../../../processors/entities/teams.js'
import {
  type FormationRequestCapacity,
  formationRequestCapacity,
  type IdleAgentsByCapability,
  idleAgentsByCapability,
} from '../../../processors/joins/idle-capacity.js'
import {
  type TeamTaskAttribution,
  type TeamTaskOutcomes,
  teamOutcomeWindows,
  teamTaskAttribution,
} from '../../../processors/joins/team-attribution.js'
import { avroType } from '../../../schemas/bounded-avro-types.js'
import { type GeneratedRecord, generateRecords, type TeamEvent } from '../../../schemas/index.js'
import {
  type ChangelogRecord,
  type KStream,
  type Serde,
  Serdes,
  StreamsBuilder,
  TopologyTestDriver,
  type Windowed,
  WindowedSerdes,
} from '../../../topology/index.js'
import {
  type Arrival,
  arrivals,
  attributionReference,
  capacityReference,
  teamOutcomesReference,
} from '../../support/join-references.js'
import { processorSerdes } from '../../support/processor-serdes.js'

const serdes = await processorSerdes()
const str = Serdes.String()
const config = resolveProcessorConfig()
const WINDOW_MS = 60_000
const GRACE_MS = 30_000
const outputs = {
  attribution: 'agent_party.team_task_attribution',
  outcomes: 'agent_party.team_task_outcomes',
  idle: 'agent_party.idle_agents_by_capability',
  capacity: 'agent_party.formation_request_capacity',
}
const windowKey = WindowedSerdes.timeWindowed(str, WINDOW_MS)

const schema = (name: string) =>
  avroType(
    JSON.parse(readFileSync(new URL(`../../../schemas/avro/outputs/${name}.avsc`, import.meta.url), 'utf8')),
  )
const schemas = {
  attribution: schema('team_task_attribution'),
  outcomes: schema('team_task_outcomes'),
  idle: schema('idle_agents_by_capability'),
  capacity: schema('formation_request_capacity'),
}

function expectValid(type: ReturnType<typeof schema>, values: readonly unknown[]): void {
  expect(values.length).toBeGreaterThan(0)
  for (const v of values) {
    const errors: string[] = []
    type.isValid(v, { errorHook: (path) => errors.push(path.join('.')) })
    expect(errors, JSON.stringify(v)).toEqual([])
  }
}

const records: GeneratedRecord[] = [
  ...generateRecords({
    seed: 41,
    count: 20_000,
    // 100 events/s: 200 s of event time, so outcomes late by 2 min miss closed windows.
    rate: 100,
    baseTime: Date.UTC(2026, 0, 1),
    duplicateShare: 0.02,
    outOfOrderShare: 0.05,
    lateShare: 0.02,
    lateByMs: 120_000,
  }),
]

/** The entity tables (as processors/topology.ts builds them) and the joins on them. */
function fullTopology() {
  const builder = new StreamsBuilder()
  const events = <E extends { event_id: string; occurred_at: number }>(
    family: 'agent_events' | 'team_events' | 'task_events',
    valueSerde: Serde<E>,
  ): KStream<string, E> =>
    dropDuplicates(
      builder,
      builder.stream<string, E>(config.inputTopics[family], { keySerde: str, valueSerde }),
      {
        name: `${family.replace('_', '-')}-dedup`,
        keySerde: str,
        horizonMs: config.dedupHorizonMs,
        eventId: (e) => e.event_id,
        eventTime: (e) => e.occurred_at,
      },
    )
  const agents = agentEntities(events('agent_events', serdes.agentEvents), undefined, {
    key: str,
    snapshot: serdes.agentSnapshot,
  }).table
  const teamEvents = events('team_events', serdes.teamEvents)
  const teams = teamEntities(teamEvents, { key: str, snapshot: serdes.teamSnapshot }).table
  const tasks = taskEntities(events('task_events', serdes.taskEvents), {
    key: str,
    snapshot: serdes.taskSnapshot,
  }).snapshots
  teamTaskAttribution(
    tasks,
    teams,
    { windowMs: WINDOW_MS, graceMs: GRACE_MS },
    { attribution: outputs.attribution, outcomes: outputs.outcomes },
    { attribution: Serdes.Json(), outcomes: Serdes.Json() },
  )
  const idle = idleAgentsByCapability(agents, outputs.idle, Serdes.Json())
  formationRequestCapacity(builder, teamEvents, idle, outputs.capacity, Serdes.Json())
  return builder.build()
}

function run(
  fed: readonly Arrival[],
  changelogs?: Record<string, ChangelogRecord[]>,
  stateStore: 'memory' | 'lmdb' = 'memory',
): TopologyTestDriver {
  const driver = new TopologyTestDriver(fullTopology(), { changelogs, stateStore })
  const inputs = {
    agent_events: driver.createInputTopic(config.inputTopics.agent_events, str, serdes.agentEvents),
    team_events: driver.createInputTopic(config.inputTopics.team_events, str, serdes.teamEvents),
    task_events: driver.createInputTopic(config.inputTopics.task_events, str, serdes.taskEvents),
  }
  for (const a of fed) {
    ;(inputs[a.family] as { pipeInput(k: string, v: unknown, t: number): void }).pipeInput(
      a.key,
      a.event,
      a.timestamp,
    )
  }
  return driver
}

function lastByKey<V>(pairs: readonly (readonly [string | null, V | null])[]): Map<string, V> {
  const out = new Map<string, V>()
  for (const [key, value] of pairs) out.set(key as string, value as V)
  return out
}

describe.each([
  ['generated', 'memory'],
  ['tables-first', 'memory'],
  ['tables-last', 'memory'],
  ['generated', 'lmdb'],
] as const)('joins on generated events, fed %s, the stores in %s', (order, stateStore) => {
  const fed = arrivals(records, order)
  const driver = run(fed, undefined, stateStore)
  afterAll(() => driver.close())
  const attribution = driver
    .createOutputTopic(outputs.attribution, str, Serdes.Json<TeamTaskAttribution>())
    .readKeyValuesToList()
  const expectedRows = attributionReference(fed)

  it('attributes each task outcome to its team and members as the team table stood', () => {
    expect(expectedRows.length).toBeGreaterThan(500)
    const members = expectedRows.flatMap((r) => r.value.members as { member: boolean; tokens_used: number }[])
    expect(expectedRows.some((r) => r.value.team_id === null)).toBe(true)
    if (order === 'tables-last') {
      // The team table is empty: every agent that used tokens is a non-member.
      expect(members.some((m) => !m.member && m.tokens_used > 0)).toBe(true)
      expect(members.every((m) => !m.member)).toBe(true)
    } else {
      expect(members.some((m) => m.member && m.tokens_used > 0)).toBe(true)
      expect(members.some((m) => m.member && m.tokens_used === 0)).toBe(true)
    }
    expect(attribution).toEqual(expectedRows.map((r) => [r.key, r.value]))
    expectValid(
      schemas.attribution,
      attribution.map(([, v]) => v),
    )
  })

  it('counts outcomes and tokens per team and window, late outcomes left out', () => {
    const expected = teamOutcomesReference(expectedRows, WINDOW_MS, GRACE_MS)
    if (order === 'generated') expect(expected.late).toBeGreaterThan(0)
    const got = new Map<string, TeamTaskOutcomes>()
    const all: TeamTaskOutcomes[] = []
    for (const [key, value] of driver
      .createOutputTopic<Windowed<string>, TeamTaskOutcomes>(outputs.outcomes, windowKey, Serdes.Json())
      .readKeyValuesToList()) {
      got.set(`${key?.key}@${key?.window.start}`, value as TeamTaskOutcomes)
      all.push(value as TeamTaskOutcomes)
    }
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected.values))
    expectValid(schemas.outcomes, all)
  })

  it('records the agents with each required capability, and the idle ones, at each formation request', () => {
    const expected = capacityReference(fed)
    expect(expected.requests.length).toBeGreaterThan(500)
    const counts = expected.requests.flatMap((r) => r.value.capabilities as { idle_agents: number }[])
    expect(counts.some((c) => c.idle_agents > 0)).toBe(order !== 'tables-last')
    if (order === 'generated') expect(expected.requests.some((r) => r.value.all_covered === false)).toBe(true)
    const got = driver
      .createOutputTopic(outputs.capacity, str, Serdes.Json<FormationRequestCapacity>())
      .readKeyValuesToList()
    expect(got).toEqual(expected.requests.map((r) => [r.key, r.value]))
    expectValid(
      schemas.capacity,
      got.map(([, v]) => v),
    )
  })

  it('ends with the agents per capability and status the agent events give', () => {
    const expected = capacityReference(fed).table
    const values = driver
      .createOutputTopic(outputs.idle, str, Serdes.Json<IdleAgentsByCapability>())
      .readKeyValuesToList()
    expect(Object.fromEntries(lastByKey(values))).toEqual(Object.fromEntries(expected))
    expect([...expected.values()].some((v) => (v.busy_agents as number) > 0)).toBe(true)
    expectValid(
      schemas.idle,
      values.map(([, v]) => v),
    )
    // No request is left waiting for its answers.
    expect([...driver.getKeyValueStore('join-formation-requests-pending').all()]).toEqual([])
  })
})

describe('joins restored from their changelogs', () => {
  it('a driver restored halfway gives what one driver gives', () => {
    const fed = arrivals(records, 'generated')
    const half = Math.floor(fed.length / 2)
    const first = run(fed.slice(0, half))
    const changelogs: Record<string, ChangelogRecord[]> = {}
    for (const topic of first.producedTopicNames()) {
      if (!topic.endsWith('-changelog')) continue
      changelogs[topic] = first
        .createOutputTopic(topic, Serdes.Buffer(), Serdes.Buffer())
        .readKeyValuesToList()
        .map(([key, value]) => ({ key, value }))
    }
    // Not join-formation-requests-pending: its store has a record cache, and here all parts of a
    // request arrive while one input record is processed, so nothing is pending when the cache flushes.
    expect(Object.keys(changelogs)).toEqual(
      expect.arrayContaining([
        'test-app-join-idle-agents-by-capability-changelog',
        'test-app-join-team-task-outcomes-changelog',
      ]),
    )
    const second = run(fed.slice(half), changelogs)
    const both = <K, V>(topic: string, key: Serde<K>, value: Serde<V>) => [
      ...first.createOutputTopic(topic, key, value).readKeyValuesToList(),
      ...second.createOutputTopic(topic, key, value).readKeyValuesToList(),
    ]
    const rows = attributionReference(fed)
    expect(both(outputs.attribution, str, Serdes.Json())).toEqual(rows.map((r) => [r.key, r.value]))
    const windows = new Map<string, unknown>()
    for (const [key, value] of both(outputs.outcomes, windowKey, Serdes.Json()))
      windows.set(`${key?.key}@${key?.window.start}`, value)
    expect(Object.fromEntries(windows)).toEqual(
      Object.fromEntries(teamOutcomesReference(rows, WINDOW_MS, GRACE_MS).values),
    )
    const expected = capacityReference(fed)
    expect(both(outputs.capacity, str, Serdes.Json())).toEqual(expected.requests.map((r) => [r.key, r.value]))
    expect(Object.fromEntries(lastByKey(both(outputs.idle, str, Serdes.Json())))).toEqual(
      Object.fromEntries(expected.table),
    )
  })
})

describe('idle agents per capability, by hand', () => {
  // The agent table fed directly with snapshots, so that a deleted agent (a tombstone) is tested too.
  function setUp(autoCommit = true) {
    const builder = new StreamsBuilder()
    const agents = builder.table<string, AgentSnapshot>('agents-in', {
      keySerde: str,
      valueSerde: Serdes.Json(),
    })
    const teamEvents = builder.stream<string, TeamEvent>('teams-in', {
      keySerde: str,
      valueSerde: Serdes.Json(),
    })
    const idle = idleAgentsByCapability(agents, 'idle-out', Serdes.Json())
    formationRequestCapacity(builder, teamEvents, idle, 'capacity-out', Serdes.Json())
    const d = new TopologyTestDriver(builder.build(), { autoCommit })
    const agentsIn = d.createInputTopic('agents-in', str, Serdes.Json<AgentSnapshot | null>())
    const teamsIn = d.createInputTopic('teams-in', str, Serdes.Json<TeamEvent>())
    let n = 0
    return {
      d,
      agent: (id: string, status: AgentSnapshot['status'] | null, capabilities: string[] = []) =>
        agentsIn.pipeInput(
          id,
          status === null
            ? null
            : {
                ...emptyAgent(id),
                status,
                capabilities: capabilities.map((name) => ({ name, category: 'c' })),
              },
          1000,
        ),
      request: (team: string, required: string[]) =>
        teamsIn.pipeInput(
          team,
          {
            event_id: `request-${++n}`,
            occurred_at: 1000 + n,
            team_id: team,
            payload: {
              'agent_party.events.TeamFormationRequested': {
                task_id: `task-${n}`,
                required_capabilities: required,
              },
            },
          },
          1000 + n,
        ),
      idle: () =>
        Object.fromEntries(
          [
            ...lastByKey(
              d
                .createOutputTopic('idle-out', str, Serdes.Json<IdleAgentsByCapability>())
                .readKeyValuesToList(),
            ),
          ].map(([k, v]) => [k, [v.idle_agents, v.busy_agents, v.agents]]),
        ),
      capacity: () =>
        d
          .createOutputTopic('capacity-out', str, Serdes.Json<FormationRequestCapacity>())
          .readKeyValuesToList(),
    }
  }

  it('follows status changes, removed capabilities, terminations and deletions', () => {
    const t = setUp()
    t.agent('a', 'IDLE', ['x', 'y'])
    t.agent('b', 'BUSY', ['x'])
    expect(t.idle()).toEqual({ x: [1, 1, 2], y: [1, 0, 1] })
    // A status change and a removed capability in one snapshot.
    t.agent('a', 'BUSY', ['x'])
    expect(t.idle()).toEqual({ x: [0, 2, 2], y: [0, 0, 0] })
    t.agent('b', 'IDLE', ['x'])
    t.agent('a', 'TERMINATED', ['x'])
    expect(t.idle()).toEqual({ x: [1, 0, 1] })
    // A deleted agent (a tombstone in the agent table) is subtracted.
    t.agent('b', null)
    expect(t.idle()).toEqual({ x: [0, 0, 0] })
    t.agent('c', 'OFFLINE', ['y'])
    t.agent('c', 'IDLE', ['y', 'x'])
    expect(t.idle()).toEqual({ x: [1, 0, 1], y: [1, 0, 1] })
    t.agent('c', null)
    expect(t.idle()).toEqual({ x: [0, 0, 0], y: [0, 0, 0] })
  })

  it('sends one update per capability changed in a commit interval, none for a change undone in it', () => {
    const t = setUp(false)
    t.agent('a', 'IDLE', ['x', 'y'])
    t.agent('b', 'BUSY', ['x'])
    t.agent('a', 'BUSY', ['x', 'y'])
    t.d.commit()
    const updates = () =>
      t.d
        .createOutputTopic('idle-out', str, Serdes.Json<IdleAgentsByCapability>())
        .readKeyValuesToList()
        .map(([k, v]) => [k, v?.idle_agents, v?.busy_agents, v?.agents])
    expect(updates()).toEqual([
      ['x', 0, 2, 2],
      ['y', 0, 1, 1],
    ])
    // Idle and busy again within one interval: the deltas cancel, nothing is sent.
    t.agent('a', 'IDLE', ['x', 'y'])
    t.agent('a', 'BUSY', ['x', 'y'])
    t.agent('b', 'OFFLINE', ['x'])
    t.d.commit()
    expect(updates()).toEqual([['x', 0, 1, 2]])
  })

  it('answers each formation request once per distinct capability, in the request order', () => {
    const t = setUp()
    t.agent('a', 'IDLE', ['x', 'y'])
    t.agent('b', 'BUSY', ['x'])
    t.request('team-1', ['y', 'x', 'y', 'z'])
    t.agent('a', 'BUSY', ['x', 'y'])
    t.request('team-2', ['x'])
    t.request('team-3', [])
    const got = t.capacity()
    expect(
      got.map(([k, v]) => [
        k,
        v?.capabilities.map((c) => [c.capability, c.idle_agents, c.agents]),
        v?.all_covered,
      ]),
    ).toEqual([
      [
        'team-1',
        [
          ['y', 1, 1],
          ['x', 1, 2],
          ['z', 0, 0],
        ],
        false,
      ],
      ['team-2', [['x', 0, 2]], false],
      ['team-3', [], true],
    ])
    expect(got[0]?.[1]).toMatchObject({
      team_id: 'team-1',
      task_id: 'task-1',
      request_id: 'request-1',
      requested_at: 1001,
    })
    expectValid(
      schemas.capacity,
      got.map(([, v]) => v),
    )
    expect([...t.d.getKeyValueStore('join-formation-requests-pending').all()]).toEqual([])
  })
})

describe('team attribution, by hand', () => {
  function setUp(options: { windowMs: number; graceMs: number; advanceMs?: number }) {
    const builder = new StreamsBuilder()
    const tasks = builder.stream<string, TaskSnapshot | null>('tasks-in', {
      keySerde: str,
      valueSerde: Serdes.Json(),
    })
    const teams = builder.table<string, TeamSnapshot>('teams-in', {
      keySerde: str,
      valueSerde: Serdes.Json(),
    })
    teamTaskAttribution(
      tasks,
      teams,
      options,
      { attribution: 'attribution-out', outcomes: 'outcomes-out' },
      { attribution: Serdes.Json(), outcomes: Serdes.Json() },
    )
    const d = new TopologyTestDriver(builder.build())
    const tasksIn = d.createInputTopic('tasks-in', str, Serdes.Json<TaskSnapshot | null>())
    const teamsIn = d.createInputTopic('teams-in', str, Serdes.Json<TeamSnapshot>())
    return {
      team: (id: string, members: [string, TeamSnapshot['members'][number]['role']][]) =>
        teamsIn.pipeInput(
          id,
          {
            ...emptyTeam(id),
            status: 'FORMED',
            members: members.map(([agent_id, role]) => ({ agent_id, role })),
          },
          0,
        ),
      task: (
        id: string,
        status: TaskSnapshot['status'],
        team: string | null,
        tokens: Record<string, number>,
        at: number,
        outcome = true,
      ) =>
        tasksIn.pipeInput(
          id,
          {
            ...emptyTask(id),
            status,
            priority: 'HIGH',
            team_id: team,
            tokens_by_agent: tokens,
            tokens_used: Object.values(tokens).reduce((a, b) => a + b, 0),
            finished_at: at,
            outcome_event: outcome,
          },
          at,
        ),
      tombstone: (id: string) => tasksIn.pipeInput(id, null, 0),
      attribution: () =>
        d.createOutputTopic('attribution-out', str, Serdes.Json<TeamTaskAttribution>()).readKeyValuesToList(),
      outcomes: (sizeMs: number) => {
        const all = d
          .createOutputTopic(
            'outcomes-out',
            WindowedSerdes.timeWindowed(str, sizeMs),
            Serdes.Json<TeamTaskOutcomes>(),
          )
          .readKeyValuesToList()
        expectValid(
          schemas.outcomes,
          all.map(([, v]) => v),
        )
        return Object.fromEntries(all.map(([k, v]) => [`${k?.key}@${k?.window.start}`, v]))
      },
    }
  }

  it('lists members with their tokens, non-members flagged, tasks without a known team', () => {
    const t = setUp({ windowMs: 10_000, graceMs: 0 })
    t.team('t1', [
      ['b', 'MEMBER'],
      ['a', 'LEADER'],
    ])
    t.task('task-1', 'RUNNING', 't1', {}, 500, false)
    t.task('task-1', 'COMPLETED', 't1', { c: 7, a: 5 }, 1000)
    // A later snapshot of a decided task, and a deleted task: not outcomes.
    t.task('task-1', 'COMPLETED', 't1', { c: 7, a: 5 }, 1100, false)
    t.tombstone('task-0')
    t.task('task-2', 'CANCELLED', null, {}, 2000)
    t.task('task-3', 'FAILED', 't9', { d: 3 }, 3000)
    t.task('task-4', 'COMPLETED', 't1', { a: 1 }, 25_000)
    // Too late for its window (grace 0): attributed, not counted.
    t.task('task-5', 'COMPLETED', 't1', { b: 2 }, 4000)
    const got = t.attribution()
    expectValid(
      schemas.attribution,
      got.map(([, v]) => v),
    )
    expect(got.map(([k]) => k)).toEqual(['task-1', 'task-2', 'task-3', 'task-4', 'task-5'])
    expect(got[0]?.[1]).toEqual({
      task_id: 'task-1',
      status: 'COMPLETED',
      priority: 'HIGH',
      team_id: 't1',
      team_known: true,
      finished_at: 1000,
      tokens_used: 12,
      member_tokens: 5,
      non_member_tokens: 7,
      members: [
        { agent_id: 'a', role: 'LEADER', tokens_used: 5, member: true },
        { agent_id: 'b', role: 'MEMBER', tokens_used: 0, member: true },
        { agent_id: 'c', role: null, tokens_used: 7, member: false },
      ],
    })
    expect(got[1]?.[1]).toMatchObject({ team_id: null, team_known: false, tokens_used: 0, members: [] })
    expect(got[2]?.[1]).toMatchObject({
      team_id: 't9',
      team_known: false,
      non_member_tokens: 3,
      members: [{ agent_id: 'd', role: null, tokens_used: 3, member: false }],
    })
    const counts = (team: string | null, start: number, c: number[]) => ({
      team_id: team,
      window_start: start,
      window_end: start + 10_000,
      completed: c[0],
      failed: c[1],
      cancelled: c[2],
      tokens_used: c[3],
      non_member_tokens: c[4],
    })
    expect(t.outcomes(10_000)).toEqual({
      't1@0': counts('t1', 0, [1, 0, 0, 12, 7]),
      'UNKNOWN@0': counts(null, 0, [0, 0, 1, 0, 0]),
      't9@0': counts('t9', 0, [0, 1, 0, 3, 3]),
      't1@20000': counts('t1', 20_000, [1, 0, 0, 1, 0]),
    })
  })

  it('counts an outcome in every hopping window it falls in', () => {
    const t = setUp({ windowMs: 10_000, advanceMs: 5_000, graceMs: 0 })
    t.task('task-1', 'FAILED', 't1', { a: 4 }, 7000)
    expect(
      Object.entries(t.outcomes(10_000)).map(([k, v]) => [k, v?.window_end, v?.failed, v?.non_member_tokens]),
    ).toEqual([
      ['t1@0', 10_000, 1, 4],
      ['t1@5000', 15_000, 1, 4],
    ])
  })

  it('rejects bad window options, naming the setting', () => {
    const setting = (options: Parameters<typeof teamOutcomeWindows>[0]) => {
      try {
        teamOutcomeWindows(options)
      } catch (e) {
        expect(e).toBeInstanceOf(ProcessorConfigError)
        return (e as ProcessorConfigError).setting
      }
      return undefined
    }
    expect(setting({ windowMs: 0 })).toBe('teamTaskOutcomes.windowMs')
    expect(setting({ windowMs: 1.5 })).toBe('teamTaskOutcomes.windowMs')
    expect(setting({ graceMs: -1 })).toBe('teamTaskOutcomes.graceMs')
    expect(setting({ advanceMs: 0 })).toBe('teamTaskOutcomes.advanceMs')
    expect(setting({ windowMs: 1000, advanceMs: 2000 })).toBe('teamTaskOutcomes.advanceMs')
    expect(setting({})).toBeUndefined()
    expect(teamOutcomeWindows({})).toMatchObject({ sizeMs: 60_000, advanceMs: 60_000, graceMs: 30_000 })
  })
})
