// The business metrics against naive references (test/support/business-references.ts): plain loops
// over the distinct events in arrival order, each record counted in every window covering it unless
// that window had closed (its end + grace at or before the largest timestamp the aggregate had seen,
// Kafka Streams' rule, window by window), on generated events with duplicates, out-of-order events and
// events late beyond the grace, on the 1-minute tumbling windows and the 1 h windows hopping by 5 min.
// Every output value is checked against its Avro schema. Then hand-built cases: the top-N's updates,
// ties and retained slack, the per-window lateness of hopping windows, the rate, the options, the names.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ProcessorConfigError } from '../../../processors/config.js'
import { dropDuplicates } from '../../../processors/dedup.js'
import { agentEntities } from '../../../processors/entities/agents.js'
import type { TaskSnapshot } from '../../../processors/entities/tasks.js'
import { taskEntities } from '../../../processors/entities/tasks.js'
import {
  type AgentInstantiationsValue,
  agentInstantiationRate,
  type MetricWindowing,
  type TaskOutcomesValue,
  type TeamFormationsValue,
  type TokensByAgentValue,
  type TokensByTeamValue,
  type TokensByTemplateValue,
  type TopTokenConsumersValue,
  taskOutcomeRates,
  teamFormationRate,
  tokensByAgent,
  tokensByTeam,
  tokensByTemplate,
  topTokenConsumers,
} from '../../../processors/metrics/business.js'
import { avroType } from '../../../schemas/bounded-avro-types.js'
import {
  type AgentEvent,
  type EventFamily,
  type GeneratedRecord,
  generateRecords,
  type TaskEvent,
  type TeamEvent,
} from '../../../schemas/index.js'
import {
  type KStream,
  type Serde,
  Serdes,
  StreamsBuilder,
  TimeWindows,
  TopologyTestDriver,
  Window,
  Windowed,
  WindowedSerdes,
} from '../../../topology/index.js'
import {
  businessItems,
  businessReference,
  topConsumers,
  type Windowing,
} from '../../support/business-references.js'
import { processorSerdes } from '../../support/processor-serdes.js'

const serdes = await processorSerdes()
const str = Serdes.String()
const MINUTE = 60_000
const HOUR = 60 * MINUTE

const TUMBLING: Windowing = { sizeMs: MINUTE, advanceMs: MINUTE, graceMs: 30_000 }
const HOPPING: Windowing = { sizeMs: HOUR, advanceMs: 5 * MINUTE, graceMs: MINUTE }
const timeWindows = (w: Windowing) => TimeWindows.ofSizeAndGrace(w.sizeMs, w.graceMs).advanceBy(w.advanceMs)

const METRICS = [
  'agent_instantiations',
  'team_formations',
  'task_outcomes',
  'tokens_by_agent',
  'tokens_by_team',
  'tokens_by_template',
  'top_token_consumers',
] as const
type Metric = (typeof METRICS)[number]
const topic = (metric: Metric | 'top_3', suffix: string) => `test.${metric}${suffix}`

const schemas = Object.fromEntries(
  METRICS.map((m) => [
    m,
    avroType(
      JSON.parse(readFileSync(new URL(`../../../schemas/avro/outputs/${m}.avsc`, import.meta.url), 'utf8')),
    ),
  ]),
) as Record<Metric, ReturnType<typeof avroType>>

const records: GeneratedRecord[] = [
  ...generateRecords({
    seed: 8,
    count: 15_000,
    // 8 events/s: about 30 min of event time, so the 1 h windows hop over it; events 10 min late miss the
    // tumbling windows and the hopping windows that ended up to 9 min after them, not the later ones.
    rate: 8,
    baseTime: Date.UTC(2026, 0, 1, 10, 2),
    duplicateShare: 0.02,
    outOfOrderShare: 0.05,
    lateShare: 0.02,
    lateByMs: 600_000,
  }),
]

const SUFFIXES = { tumbling: '', hopping: '-1h' } as const
const WINDOWINGS = { tumbling: TUMBLING, hopping: HOPPING } as const
type Which = keyof typeof WINDOWINGS

/** The metrics on both windowings, over the deduplicated events and the entity tables, as topology.ts wires them. */
function metricsTopology() {
  const builder = new StreamsBuilder()
  const events = <E extends { event_id: string; occurred_at: number }>(
    family: EventFamily,
    valueSerde: Serde<E>,
  ): KStream<string, E> =>
    dropDuplicates(builder, builder.stream<string, E>(family, { keySerde: str, valueSerde }), {
      name: `${family.replace('_', '-')}-dedup`,
      keySerde: str,
      horizonMs: HOUR,
      eventId: (e) => e.event_id,
      eventTime: (e) => e.occurred_at,
    })
  const agentEvents = events<AgentEvent>('agent_events', serdes.agentEvents)
  const agents = agentEntities(agentEvents, undefined, { key: str, snapshot: serdes.agentSnapshot }).table
  const teamEvents = events<TeamEvent>('team_events', serdes.teamEvents)
  const tasks = taskEntities(events<TaskEvent>('task_events', serdes.taskEvents), {
    key: str,
    snapshot: serdes.taskSnapshot,
  }).snapshots
  for (const which of ['tumbling', 'hopping'] as const) {
    const suffix = SUFFIXES[which]
    const windows = timeWindows(WINDOWINGS[which])
    const on = (metric: Metric | 'top_3'): MetricWindowing => ({
      suffix,
      windows,
      output: topic(metric, suffix),
    })
    agentInstantiationRate(agentEvents, on('agent_instantiations'), Serdes.Json())
    teamFormationRate(teamEvents, on('team_formations'), Serdes.Json())
    taskOutcomeRates(tasks, on('task_outcomes'), Serdes.Json())
    const perAgent = tokensByAgent(tasks, on('tokens_by_agent'), Serdes.Json())
    tokensByTeam(tasks, on('tokens_by_team'), Serdes.Json())
    tokensByTemplate(tasks, agents, on('tokens_by_template'), Serdes.Json())
    topTokenConsumers(perAgent, on('top_token_consumers'), Serdes.Json())
    // The smallest aggregate there is (no slack), on the same table: exact all the same once updated.
    topTokenConsumers(perAgent, { ...on('top_3'), suffix: `${suffix}-top3` }, Serdes.Json(), {
      topN: 3,
      retain: 3,
    })
  }
  return builder.build()
}

const topology = metricsTopology()
const driver = new TopologyTestDriver(topology)
{
  const inputs = {
    agent_events: driver.createInputTopic('agent_events', str, serdes.agentEvents),
    team_events: driver.createInputTopic('team_events', str, serdes.teamEvents),
    task_events: driver.createInputTopic('task_events', str, serdes.taskEvents),
  }
  for (const r of records) {
    if (r.family === 'system_events') continue
    ;(inputs[r.family] as { pipeInput(k: string, v: unknown, t: number): void }).pipeInput(
      r.key,
      r.event,
      r.timestamp,
    )
  }
}
const items = businessItems(records)

/** Every value of an output, in order, with its key. */
function outputOf<V>(
  d: TopologyTestDriver,
  name: string,
  w: Windowing,
): { key: Windowed<string>; value: V }[] {
  return d
    .createOutputTopic<Windowed<string>, V>(
      name,
      WindowedSerdes.timeWindowed(str, w.sizeMs),
      Serdes.Json<V>(),
    )
    .readKeyValuesToList()
    .map(([key, value]) => ({ key: key as Windowed<string>, value: value as V }))
}

/** The last value of each window of each key, by `<key>@<window start>`, after checking every one. */
function finalValues<V>(
  metric: Metric | 'top_3',
  which: Which,
  check: (key: Windowed<string>, value: V) => boolean = () => true,
): Record<string, V> {
  const out: Record<string, V> = {}
  const w = WINDOWINGS[which]
  const schema = schemas[metric === 'top_3' ? 'top_token_consumers' : metric]
  // Plain checks, one expect for all: the hopping outputs have tens of thousands of values.
  const bad: unknown[] = []
  for (const { key, value } of outputOf<V>(driver, topic(metric, SUFFIXES[which]), w)) {
    const v = value as { window_start: number; window_end: number }
    const bounds = v.window_start === key.window.start && v.window_end === key.window.start + w.sizeMs
    if (!(schema.isValid(value) && bounds && check(key, value))) bad.push(value)
    out[`${key.key}@${key.window.start}`] = value
  }
  expect(bad.slice(0, 3)).toEqual([])
  return out
}

function withBounds<A extends object>(values: Map<string, A>, w: Windowing, fields: (key: string) => object) {
  const out: Record<string, object> = {}
  for (const [id, a] of values) {
    const at = id.lastIndexOf('@')
    const key = id.slice(0, at)
    const start = Number(id.slice(at + 1))
    out[id] = { ...fields(key), window_start: start, window_end: start + w.sizeMs, ...a }
  }
  return out
}

describe.each(['tumbling', 'hopping'] as const)('business metrics on the %s windows', (which) => {
  const w = WINDOWINGS[which]
  const reference = businessReference(items, w)

  it('agent instantiations per template, version and window, with the rate per minute', () => {
    const expected = reference.instantiations
    expect(expected.values.size).toBeGreaterThan(1)
    const counts = new Map(
      [...expected.values].map(([id, count]) => [id, { count, per_minute: count / (w.sizeMs / MINUTE) }]),
    )
    expect(finalValues<AgentInstantiationsValue>('agent_instantiations', which)).toEqual(
      withBounds(counts, w, (key) => ({
        template_id: key.slice(0, key.lastIndexOf('@')),
        version: Number(key.slice(key.lastIndexOf('@') + 1)),
      })),
    )
  })

  it('team formations per window: formed, failed, the success rate and the reasons', () => {
    const expected = reference.formations
    expect([...expected.values.values()].some((v) => v.failed > 0)).toBe(true)
    expect(finalValues<TeamFormationsValue>('team_formations', which)).toEqual(
      withBounds(expected.values, w, () => ({})),
    )
  })

  it('task outcomes per priority and window, each task once, late outcomes left out window by window', () => {
    const expected = reference.taskOutcomes
    // Tumbling windows lose late outcomes whole; hopping windows lose them only from the closed windows.
    if (which === 'tumbling') expect(expected.late).toBeGreaterThan(0)
    else expect(expected.partlyLate).toBeGreaterThan(0)
    expect(finalValues<TaskOutcomesValue>('task_outcomes', which)).toEqual(
      withBounds(expected.values, w, (priority) => ({ priority })),
    )
  })

  it('tokens per agent, per team and per template and window', () => {
    const byAgent = reference.tokensByAgent
    expect(byAgent.values.size).toBeGreaterThan(10)
    expect(which === 'tumbling' ? byAgent.late : byAgent.partlyLate).toBeGreaterThan(0)
    const tokens = (m: Map<string, number>) => new Map([...m].map(([id, n]) => [id, { tokens: n }]))
    expect(finalValues<TokensByAgentValue>('tokens_by_agent', which)).toEqual(
      withBounds(tokens(byAgent.values), w, (agent_id) => ({ agent_id })),
    )
    expect(finalValues<TokensByTeamValue>('tokens_by_team', which)).toEqual(
      withBounds(tokens(reference.tokensByTeam.values), w, (team_id) => ({ team_id })),
    )
    const byTemplate = reference.tokensByTemplate.values
    expect(new Set([...byTemplate.keys()].map((id) => id.split('@')[0])).size).toBeGreaterThan(2)
    expect(finalValues<TokensByTemplateValue>('tokens_by_template', which)).toEqual(
      withBounds(tokens(byTemplate), w, (template_id) => ({ template_id })),
    )
  })

  it.each([
    ['top_token_consumers', 10],
    ['top_3', 3],
  ] as const)('a running top-N of token consumers per window (%s)', (metric, n) => {
    const expected = topConsumers(reference.tokensByAgent.values, n)
    expect([...expected.values()].some((list) => list.length === n)).toBe(true)
    // Every list on the way, not only the last: ranked, best first, at most N.
    const got = finalValues<TopTokenConsumersValue>(
      metric,
      which,
      (key, value) =>
        key.key === 'all' &&
        value.entries.length <= n &&
        value.entries.every((e, i) => {
          const next = value.entries[i + 1]
          const ordered =
            next === undefined ||
            e.tokens > next.tokens ||
            (e.tokens === next.tokens && e.agent_id < next.agent_id)
          return e.rank === i + 1 && ordered
        }),
    )
    const want: Record<string, TopTokenConsumersValue> = {}
    for (const [start, entries] of expected)
      want[`all@${start}`] = { window_start: start, window_end: start + w.sizeMs, entries }
    expect(got).toEqual(want)
  })
})

// Hand-built cases, on task outcome snapshots fed directly (JSON).

function outcome(
  taskId: string,
  time: number,
  tokens: Record<string, number>,
  team = 'team-1',
): TaskSnapshot {
  const used = Object.values(tokens).reduce((a, b) => a + b, 0)
  return {
    task_id: taskId,
    status: 'COMPLETED',
    priority: 'HIGH',
    required_capabilities: [],
    token_budget: null,
    team_id: team,
    agent_ids: Object.keys(tokens),
    tokens_by_agent: tokens,
    tokens_used: used,
    created_at: null,
    assigned_at: null,
    started_at: null,
    finished_at: time,
    duration_ms: null,
    error: null,
    cancel_reason: null,
    updated_at: time,
    events: 1,
    outcome_event: true,
  }
}

function snapshotDriver(
  w: Windowing,
  build: (tasks: KStream<string, TaskSnapshot | null>, windowing: MetricWindowing) => void,
) {
  const builder = new StreamsBuilder()
  build(builder.stream<string, TaskSnapshot | null>('tasks', { keySerde: str, valueSerde: Serdes.Json() }), {
    suffix: '',
    windows: timeWindows(w),
    output: 'out',
  })
  const d = new TopologyTestDriver(builder.build())
  const input = d.createInputTopic('tasks', str, Serdes.Json<TaskSnapshot | null>())
  const output = d.createOutputTopic('out', WindowedSerdes.timeWindowed(str, w.sizeMs), Serdes.Json())
  return {
    pipe: (t: TaskSnapshot) => input.pipeInput(t.task_id, t, t.updated_at),
    /** What came out since the last call. */
    out: <V>() =>
      output
        .readKeyValuesToList()
        .map(([key, value]) => ({ key: key as Windowed<string>, value: value as V })),
  }
}

describe('top token consumers, by hand', () => {
  const w: Windowing = { sizeMs: MINUTE, advanceMs: MINUTE, graceMs: 0 }
  const list = (v: TopTokenConsumersValue) => v.entries.map((e) => `${e.agent_id}:${e.tokens}#${e.rank}`)

  it('deletes a window row once stream time is keepWindowsMs past its end, with no output tombstone', () => {
    const builder = new StreamsBuilder()
    const tasks = builder.stream<string, TaskSnapshot | null>('tasks', {
      keySerde: str,
      valueSerde: Serdes.Json(),
    })
    const windowing: MetricWindowing = { suffix: '', windows: timeWindows(w), output: 'out' }
    const perAgent = tokensByAgent(tasks, { ...windowing, output: 'per-agent' }, Serdes.Json())
    topTokenConsumers(perAgent, windowing, Serdes.Json(), { keepWindowsMs: 10 * MINUTE })
    const d = new TopologyTestDriver(builder.build())
    const input = d.createInputTopic('tasks', str, Serdes.Json<TaskSnapshot | null>())
    const output = d.createOutputTopic('out', WindowedSerdes.timeWindowed(str, MINUTE), Serdes.Json())
    const pipe = (t: TaskSnapshot) => input.pipeInput(t.task_id, t, t.updated_at)
    const rows = () =>
      [...d.getKeyValueStore<Windowed<string>, unknown>('top-tokens').all()].map(([k]) => k.window.start)
    pipe(outcome('t1', 10_000, { a: 4 }))
    pipe(outcome('t2', 70_000, { b: 2 }))
    expect(rows()).toEqual([0, MINUTE])
    // The first window ends at 1 min: kept until 11 min of stream time.
    pipe(outcome('t3', 11 * MINUTE - 1, { c: 1 }))
    expect(rows()).toEqual([0, MINUTE, 10 * MINUTE])
    pipe(outcome('t4', 12 * MINUTE + 1, { d: 1 }))
    expect(rows()).toEqual([10 * MINUTE, 12 * MINUTE])
    expect(output.readValuesToList().every((v) => v !== null)).toBe(true)
  })

  it('ranks ties by agent id, follows each update, and lets a dropped agent back in above the rest', () => {
    const t = snapshotDriver(w, (tasks, windowing) =>
      topTokenConsumers(
        tokensByAgent(tasks, { ...windowing, output: 'per-agent' }, Serdes.Json()),
        windowing,
        Serdes.Json(),
        {
          topN: 2,
          retain: 2,
        },
      ),
    )
    const steps: [Record<string, number>, string[]][] = [
      [{ b: 5 }, ['b:5#1']],
      [{ a: 5 }, ['a:5#1', 'b:5#2']],
      [{ c: 3 }, ['a:5#1', 'b:5#2']],
      // c climbs from outside the retained agents to the top.
      [{ c: 10 }, ['c:13#1', 'a:5#2']],
      // b, dropped at the last step, comes back above a.
      [{ b: 1 }, ['c:13#1', 'b:6#2']],
      // A new agent tied with a (now outside the list) ranks after it: stays out.
      [{ d: 5 }, ['c:13#1', 'b:6#2']],
      [{ a: 2 }, ['c:13#1', 'a:7#2']],
      // The leader's update: removed, then back.
      [{ c: 1 }, ['c:14#1', 'a:7#2']],
    ]
    for (const [i, [tokens, want]] of steps.entries()) {
      t.pipe(outcome(`task-${i}`, 1_000 + i, tokens))
      // A removal and its addition may both emit (unless the cache folds them): the last is the whole update.
      const out = t.out<TopTokenConsumersValue>()
      expect(list((out.at(-1) as { value: TopTokenConsumersValue }).value), `step ${i}`).toEqual(want)
      expect(out.every(({ key }) => key.window.start === 0 && key.key === 'all')).toBe(true)
    }
  })

  it('on a table whose totals can be deleted: short of the lost slots rather than wrong, retain - N slots lost stay exact', () => {
    // Windowed token sums never decrease; a plain table (deletes, as subtractions without an addition)
    // shows what the floor and the slack are for.
    const key = WindowedSerdes.timeWindowed(str, MINUTE)
    const builder = new StreamsBuilder()
    topTokenConsumers(
      builder.table<Windowed<string>, number>('per-agent', { keySerde: key, valueSerde: Serdes.Long() }),
      { suffix: '', windows: timeWindows(w), output: 'out' },
      Serdes.Json(),
      { topN: 2, retain: 3 },
    )
    const d = new TopologyTestDriver(builder.build())
    const input = d.createInputTopic('per-agent', key, Serdes.Long())
    const output = d.createOutputTopic('out', key, Serdes.Json<TopTokenConsumersValue>())
    const steps: [string, number | null, string[]][] = [
      ['a', 10, ['a:10#1']],
      ['b', 8, ['a:10#1', 'b:8#2']],
      ['c', 6, ['a:10#1', 'b:8#2']],
      // Beyond retain: d is the floor, what is left out ranks at or below it.
      ['d', 4, ['a:10#1', 'b:8#2']],
      // One slot lost, the slack covers it.
      ['a', null, ['b:8#1', 'c:6#2']],
      // Below the floor: d (unseen by the list) may rank above, so e stays out.
      ['e', 3, ['b:8#1', 'c:6#2']],
      // A second slot lost: the list is short, not wrong (d, the true second, is not known).
      ['b', null, ['c:6#1']],
      // d comes back above the floor.
      ['d', 7, ['d:7#1', 'c:6#2']],
    ]
    for (const [i, [agent, tokens, want]] of steps.entries()) {
      input.pipeInput(new Windowed(agent, new Window(0, MINUTE)), tokens, 1_000 + i)
      const out = output.readValuesToList() as TopTokenConsumersValue[]
      expect(list(out.at(-1) as TopTokenConsumersValue), `step ${i}`).toEqual(want)
    }
  })

  it('keeps a list per window', () => {
    const t = snapshotDriver(w, (tasks, windowing) =>
      topTokenConsumers(
        tokensByAgent(tasks, { ...windowing, output: 'per-agent' }, Serdes.Json()),
        windowing,
        Serdes.Json(),
        {
          topN: 1,
        },
      ),
    )
    t.pipe(outcome('t1', 10_000, { a: 4, b: 2 }))
    t.pipe(outcome('t2', 70_000, { b: 3 }))
    t.pipe(outcome('t3', 80_000, { a: 1 }))
    const last = new Map(
      t.out<TopTokenConsumersValue>().map(({ key, value }) => [key.window.start, list(value)]),
    )
    expect(Object.fromEntries(last)).toEqual({ 0: ['a:4#1'], 60000: ['b:3#1'] })
  })
})

describe('hopping windows, by hand', () => {
  it('takes a late record into its open windows only', () => {
    const w: Windowing = { sizeMs: HOUR, advanceMs: 5 * MINUTE, graceMs: 0 }
    const t = snapshotDriver(w, (tasks, windowing) => tokensByTeam(tasks, windowing, Serdes.Json()))
    t.pipe(outcome('t1', 3 * HOUR, { a: 1 }))
    // 2:53: in the windows starting 1:55 to 2:50; those ending 2:55 and 3:00 closed at stream time 3:00.
    t.pipe(outcome('t2', 3 * HOUR - 7 * MINUTE, { a: 10 }))
    const last = new Map(t.out<TokensByTeamValue>().map(({ key, value }) => [key.window.start, value.tokens]))
    const want = new Map<number, number>()
    for (let start = 2 * HOUR + 5 * MINUTE; start <= 3 * HOUR; start += 5 * MINUTE)
      want.set(start, start <= 2 * HOUR + 50 * MINUTE ? 11 : 1)
    expect(new Map([...last].sort((a, b) => a[0] - b[0]))).toEqual(want)
  })
})

describe('the outputs, by hand', () => {
  it('instantiation rate per minute on 1 h windows; the grouping fields from the key', () => {
    const w: Windowing = { sizeMs: HOUR, advanceMs: HOUR, graceMs: 0 }
    const builder = new StreamsBuilder()
    agentInstantiationRate(
      builder.stream<string, AgentEvent>('agents', { keySerde: str, valueSerde: Serdes.Json() }),
      { suffix: '-1h', windows: timeWindows(w), output: 'out' },
      Serdes.Json(),
    )
    const d = new TopologyTestDriver(builder.build())
    const input = d.createInputTopic('agents', str, Serdes.Json<AgentEvent>())
    const created = (id: string, template: string, version: number, time: number): AgentEvent => ({
      event_id: `e-${id}`,
      occurred_at: time,
      agent_id: id,
      payload: {
        'agent_party.events.AgentCreated': {
          template_id: template,
          version,
          name: id,
          capabilities: [],
          model: null,
        },
      },
    })
    for (let i = 0; i < 3; i++)
      input.pipeInput(`a${i}`, created(`a${i}`, 'planner@eu', 7, HOUR + i), HOUR + i)
    input.pipeInput('b', created('b', 'coder', 1, HOUR + 5), HOUR + 5)
    const last = new Map(
      outputOf<AgentInstantiationsValue>(d, 'out', w).map(({ key, value }) => [key.key, value]),
    )
    expect(Object.fromEntries(last)).toEqual({
      'planner@eu@7': {
        template_id: 'planner@eu',
        version: 7,
        window_start: HOUR,
        window_end: 2 * HOUR,
        count: 3,
        per_minute: 3 / 60,
      },
      'coder@1': {
        template_id: 'coder',
        version: 1,
        window_start: HOUR,
        window_end: 2 * HOUR,
        count: 1,
        per_minute: 1 / 60,
      },
    })
    for (const v of last.values()) expect(schemas.agent_instantiations.isValid(v)).toBe(true)
  })

  it('names its stores and repartition topics per windowing, the 1-minute ones as before', () => {
    const stores = new Set<string>()
    const sources = new Set<string>()
    for (const sub of topology.describe().subtopologies)
      for (const node of sub.nodes) {
        if (node.kind === 'processor') for (const s of node.stores) stores.add(s)
        if (node.kind === 'source') for (const t of node.topics) sources.add(t)
      }
    for (const name of [
      'instantiations',
      'formations',
      'task-outcomes',
      'tokens-per-agent',
      'tokens-per-team',
      'tokens-per-template',
      'top-tokens',
    ]) {
      expect(stores).toContain(name)
      expect(stores).toContain(`${name}-1h`)
    }
    const repartitions = (s: string) => [
      `instantiations${s}-by-template`,
      `formations${s}-all`,
      `task-outcomes${s}-by-priority`,
      `tokens-per-agent${s}-by-key`,
      `tokens-per-team${s}-by-key`,
      `tokens-with-agent${s}-left`,
      `tokens-per-template${s}-by-key`,
      `top-tokens${s}-by-window`,
    ]
    for (const name of [...repartitions(''), ...repartitions('-1h')])
      expect([...sources].filter((t) => t === `${name}-repartition`)).toHaveLength(1)
  })

  it('groups a metric once when given both windowings: one repartition topic, one store per windowing', () => {
    const builder = new StreamsBuilder()
    const agentEvents = builder.stream<string, AgentEvent>('agents', {
      keySerde: str,
      valueSerde: Serdes.Json(),
    })
    const windowings = [
      { suffix: '', windows: TimeWindows.ofSizeAndGrace(MINUTE, 30_000), output: 'per-minute' },
      {
        suffix: '-1h',
        windows: TimeWindows.ofSizeAndGrace(HOUR, 60_000).advanceBy(5 * MINUTE),
        output: 'hourly',
      },
    ]
    agentInstantiationRate(agentEvents, windowings, Serdes.Json())
    const description = builder.build().describe()
    const sources = description.subtopologies.flatMap((sub) =>
      sub.nodes.flatMap((node) => (node.kind === 'source' ? node.topics : [])),
    )
    expect(sources.filter((t) => t.endsWith('-repartition'))).toEqual([
      'instantiations-by-template-repartition',
    ])
    const stores = description.subtopologies.flatMap((sub) =>
      sub.nodes.flatMap((node) => (node.kind === 'processor' ? node.stores : [])),
    )
    expect(stores.sort()).toEqual(['instantiations', 'instantiations-1h'])
  })

  it('rejects bad options, naming the setting', () => {
    const builder = new StreamsBuilder()
    const tasks = builder.stream<string, TaskSnapshot | null>('tasks', {
      keySerde: str,
      valueSerde: Serdes.Json(),
    })
    const windowing: MetricWindowing = { suffix: '', windows: timeWindows(TUMBLING), output: 'out' }
    const table = tokensByAgent(tasks, windowing, Serdes.Json())
    const fails = (f: () => void, setting: string) => {
      expect(f).toThrow(ProcessorConfigError)
      expect(f).toThrow(setting)
    }
    fails(
      () => topTokenConsumers(table, { ...windowing, suffix: '-a' }, Serdes.Json(), { topN: 0 }),
      'topTokenConsumers.topN',
    )
    fails(
      () => topTokenConsumers(table, { ...windowing, suffix: '-k' }, Serdes.Json(), { keepWindowsMs: -1 }),
      'topTokenConsumers.keepWindowsMs',
    )
    fails(
      () => topTokenConsumers(table, { ...windowing, suffix: '-b' }, Serdes.Json(), { topN: 2.5 }),
      'topTokenConsumers.topN',
    )
    fails(
      () => topTokenConsumers(table, { ...windowing, suffix: '-c' }, Serdes.Json(), { topN: 5, retain: 4 }),
      'topTokenConsumers.retain',
    )
    fails(() => tokensByTeam(tasks, { ...windowing, suffix: '1h' }, Serdes.Json()), 'tokensByTeam.suffix')
    fails(
      () => taskOutcomeRates(tasks, { ...windowing, suffix: '-1 h' }, Serdes.Json()),
      'taskOutcomeRates.suffix',
    )
  })
})
