// The performance metrics against naive references (test/support/performance-references.ts) on
// generated events of all four topics, with duplicates, out-of-order events and events late beyond the
// grace; the driver's wall clock moves forward before each record, so each event's processing latency
// is known. Quantiles are checked against the exact ones within the sketch's relative accuracy, the
// rest exactly; small hand-built streams pin down the edge cases; every value is valid for its schema.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { dropDuplicates } from '../../../processors/dedup.js'
import { engineSerde } from '../../../processors/event-serdes.js'
import {
  type ComponentMetricSummary,
  componentMetrics,
  type InferenceTime,
  inferenceTime,
  type PerformanceOptions,
  type ProcessingLatency,
  processingLatency,
  resolvePerformanceOptions,
  type TimedEvent,
  type WindowSummary,
} from '../../../processors/metrics/performance.js'
import { avroType } from '../../../schemas/bounded-avro-types.js'
import {
  type AgentEvent,
  type ComponentMetric,
  type EventFamily,
  type GeneratedRecord,
  generateRecords,
  type SystemEvent,
  type TeamEvent,
} from '../../../schemas/index.js'
import { createEventSerde } from '../../../schemas/serde/create-event-serdes.js'
import {
  type KStream,
  type Serde,
  Serdes,
  StreamsBuilder,
  TimeWindows,
  TopologyTestDriver,
  type TopologyTestDriverOptions,
  type Windowed,
  WindowedSerdes,
} from '../../../topology/index.js'
import {
  type ReferenceSummary,
  referenceSummaries,
  type Sample,
  withinRelativeAccuracy,
} from '../../support/performance-references.js'

const str = Serdes.String()
const FAMILIES = ['agent_events', 'team_events', 'task_events', 'system_events'] as const
const serdes = Object.fromEntries(
  await Promise.all(
    FAMILIES.map(async (f) => [f, engineSerde(await createEventSerde(f, { encoding: 'single-object' }))]),
  ),
) as Record<EventFamily, Serde<unknown>>
const topics: Record<EventFamily, string> = {
  agent_events: 'test.agent_events',
  team_events: 'test.team_events',
  task_events: 'test.task_events',
  system_events: 'test.system_events',
}
const OUT = { latency: 'out.latency', inference: 'out.inference', components: 'out.components' }
const SIZE = 10_000
const GRACE = 5_000
const BASE = Date.UTC(2026, 0, 1)

const schemaOf = (name: string) =>
  avroType(
    JSON.parse(readFileSync(new URL(`../../../schemas/avro/outputs/${name}.avsc`, import.meta.url), 'utf8')),
  )
const schemas = {
  latency: schemaOf('processing_latency'),
  inference: schemaOf('inference_time'),
  components: schemaOf('component_metrics'),
}

function topology(options: PerformanceOptions, windows = TimeWindows.ofSizeAndGrace(SIZE, GRACE)) {
  const builder = new StreamsBuilder()
  const events = Object.fromEntries(
    FAMILIES.map((f) => [
      f,
      dropDuplicates(
        builder,
        builder.stream<string, TimedEvent & { event_id: string }>(topics[f], {
          keySerde: str,
          valueSerde: serdes[f] as Serde<TimedEvent & { event_id: string }>,
        }),
        {
          name: `${f}-dedup`,
          keySerde: str,
          horizonMs: 3_600_000,
          eventId: (e) => e.event_id,
          eventTime: (e) => e.occurred_at,
        },
      ),
    ]),
  ) as Record<EventFamily, KStream<string, TimedEvent & { event_id: string }>>
  processingLatency(
    Object.fromEntries(FAMILIES.map((f) => [topics[f], events[f]])),
    windows,
    OUT.latency,
    Serdes.Json(),
    options,
  )
  const teamEvents = events.team_events as unknown as KStream<string, TeamEvent>
  const systemEvents = events.system_events as unknown as KStream<string, SystemEvent>
  inferenceTime(teamEvents, systemEvents, windows, OUT.inference, Serdes.Json(), options)
  componentMetrics(systemEvents, windows, OUT.components, Serdes.Json(), options)
  return builder.build()
}

interface Piped {
  readonly record: GeneratedRecord
  /** The driver's wall clock when the record was piped. */
  readonly wall: number
}

/** Pipes the records, moving the wall clock to at least each record's time plus a little jitter. */
function run(records: readonly GeneratedRecord[], options: PerformanceOptions = resolvePerformanceOptions()) {
  const driver = new TopologyTestDriver(topology(options), { initialWallClockTimeMs: BASE })
  const inputs = Object.fromEntries(
    FAMILIES.map((f) => [f, driver.createInputTopic(topics[f], str, serdes[f])]),
  ) as unknown as Record<EventFamily, { pipeInput(k: string, v: unknown, t: number): void }>
  let wall = BASE
  const piped: Piped[] = []
  records.forEach((r, i) => {
    const target = Math.max(wall, r.timestamp + ((i * 7919) % 97))
    if (target > wall) driver.advanceWallClockTime(target - wall)
    wall = target
    inputs[r.family].pipeInput(r.key, r.event, r.timestamp)
    piped.push({ record: r, wall })
  })
  return { driver, piped }
}

function finalValues<V>(driver: TopologyTestDriver, topic: string, windowMs = SIZE): Map<string, V> {
  const out = new Map<string, V>()
  for (const [key, value] of driver
    .createOutputTopic<Windowed<string>, V>(
      topic,
      WindowedSerdes.timeWindowed(str, windowMs),
      Serdes.Json<V>(),
    )
    .readKeyValuesToList()) {
    out.set(`${key?.key}@${key?.window.start}`, value as V)
  }
  return out
}

const kind = (payload: object) => (Object.keys(payload)[0] ?? '').split('.').pop()
const body = (payload: object) => Object.values(payload)[0] as Record<string, unknown>

/** The first copy of each event, in arrival order, with the wall clock it was piped at. */
function distinct(piped: readonly Piped[]): Piped[] {
  const seen = new Set<string>()
  return piped.filter((p) => {
    const id = (p.record.event as { event_id: string }).event_id
    if (seen.has(id)) return false
    seen.add(id)
    return true
  })
}

function latencySamples(piped: readonly Piped[]): Sample[] {
  return distinct(piped).map((p) => {
    const time = (p.record.event as { occurred_at: number }).occurred_at
    return { key: topics[p.record.family], time, value: p.wall - time }
  })
}

function inferenceSamples(piped: readonly Piped[], names = ['gnn_inference_time', 'model_inference_time']) {
  const samples: Sample[] = []
  for (const p of distinct(piped)) {
    const e = p.record.event as { occurred_at: number; payload: object; component?: string }
    const b = body(e.payload)
    if (p.record.family === 'team_events' && kind(e.payload) === 'TeamFormed') {
      samples.push({ key: 'team_formed', time: e.occurred_at, value: b.inference_time_ms as number })
    }
    if (
      p.record.family === 'system_events' &&
      kind(e.payload) === 'ComponentMetric' &&
      names.includes(b.name as string) &&
      b.unit === 'MILLISECONDS'
    ) {
      samples.push({ key: e.component as string, time: e.occurred_at, value: b.value as number })
    }
  }
  return samples
}

function componentSamples(piped: readonly Piped[]): Sample[] {
  const samples: Sample[] = []
  for (const p of distinct(piped)) {
    const e = p.record.event as { occurred_at: number; payload: object; component?: string }
    if (p.record.family !== 'system_events' || kind(e.payload) !== 'ComponentMetric') continue
    const b = body(e.payload)
    samples.push({
      key: `${e.component}/${b.name}`,
      time: e.occurred_at,
      value: b.value as number,
      unit: b.unit as string,
    })
  }
  return samples
}

/** Same windows; counts, min, max exact; mean and sum to float rounding; quantiles within α. */
function expectMatches(
  actual: Map<string, WindowSummary & { sum?: number }>,
  expected: Map<string, ReferenceSummary>,
  alpha: number,
): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort())
  for (const [id, e] of expected) {
    const a = actual.get(id) as WindowSummary & { sum?: number }
    expect({ id, start: a.window_start, end: a.window_end, count: a.count, min: a.min, max: a.max }).toEqual({
      id,
      start: e.window_start,
      end: e.window_end,
      count: e.count,
      min: e.min,
      max: e.max,
    })
    expect(a.mean).toBeCloseTo(e.mean, 6)
    if (a.sum !== undefined) expect(a.sum).toBeCloseTo(e.sum, 3)
    for (const q of ['p50', 'p95', 'p99'] as const) {
      if (!withinRelativeAccuracy(a[q], e[q], alpha)) {
        throw new Error(`${id} ${q}: reported ${a[q]}, exact ${e[q]}, beyond α = ${alpha}`)
      }
    }
  }
}

const generated = [
  ...generateRecords({
    seed: 41,
    count: 16_000,
    // 100 events/s: 160 s of event time, 16 windows of 10 s; late events 30 s behind miss closed ones.
    rate: 100,
    baseTime: BASE,
    duplicateShare: 0.03,
    outOfOrderShare: 0.05,
    maxOutOfOrderMs: 4_000,
    lateShare: 0.02,
    lateByMs: 30_000,
  }),
]
const defaults = resolvePerformanceOptions()
const main = run(generated)

describe('performance metrics on generated events', () => {
  it('processing latency per topic and window: the wall clock at processing minus occurred_at', () => {
    const { summaries, late } = referenceSummaries(latencySamples(main.piped), SIZE, GRACE)
    expect(late).toBeGreaterThan(0)
    expect(new Set([...summaries.values()].map((s) => s.key))).toEqual(new Set(Object.values(topics)))
    // Late and out-of-order events make the tail: p99 well above p50 somewhere.
    expect([...summaries.values()].some((s) => s.p99 > s.p50 + 1000)).toBe(true)
    const actual = finalValues<ProcessingLatency>(main.driver, OUT.latency)
    expectMatches(actual, summaries, defaults.relativeAccuracy)
    for (const [id, a] of actual) {
      expect(`${a.topic}@${a.window_start}`).toBe(id)
      expect(schemas.latency.isValid(a)).toBe(true)
    }
  })

  it('inference time per source and window, from TeamFormed and the inference-time metrics', () => {
    const { summaries } = referenceSummaries(inferenceSamples(main.piped), SIZE, GRACE)
    expect(new Set([...summaries.values()].map((s) => s.key))).toEqual(
      new Set(['team_formed', 'team-former']),
    )
    const actual = finalValues<InferenceTime>(main.driver, OUT.inference)
    expectMatches(actual, summaries, defaults.relativeAccuracy)
    for (const [id, a] of actual) {
      expect(`${a.source}@${a.window_start}`).toBe(id)
      expect(schemas.inference.isValid(a)).toBe(true)
    }
  })

  it('every component metric per component, name and window, with its unit and sum', () => {
    const { summaries, late } = referenceSummaries(componentSamples(main.piped), SIZE, GRACE)
    expect(late).toBeGreaterThan(0)
    expect(new Set([...summaries.values()].map((s) => s.key)).size).toBeGreaterThan(6)
    const actual = finalValues<ComponentMetricSummary>(main.driver, OUT.components)
    expectMatches(actual, summaries, defaults.relativeAccuracy)
    for (const [id, a] of actual) {
      const e = summaries.get(id) as ReferenceSummary
      expect(`${a.component}/${a.name}`).toBe(e.key)
      expect(a.unit).toBe(e.unit)
      expect(schemas.components.isValid(a)).toBe(true)
    }
  })
})

// Hand-built streams, typed as the topology's own (AgentEvent, TeamEvent, SystemEvent), JSON-encoded.
const ID = { n: 0 }
const eventId = () => `00000000-0000-4000-8000-${String(++ID.n).padStart(12, '0')}`
const agentEvent = (occurred_at: number): AgentEvent => ({
  event_id: eventId(),
  occurred_at,
  agent_id: 'a1',
  payload: { 'agent_party.events.AgentTerminated': { reason: 'operator request' } },
})
const teamFormed = (occurred_at: number, inference_time_ms: number): TeamEvent => ({
  event_id: eventId(),
  occurred_at,
  team_id: 't1',
  payload: {
    'agent_party.events.TeamFormed': { task_id: 'k1', members: [], formation_score: 0.9, inference_time_ms },
  },
})
const metric = (
  occurred_at: number,
  component: string,
  name: string,
  value: number,
  unit: ComponentMetric['unit'] = 'MILLISECONDS',
): SystemEvent => ({
  event_id: eventId(),
  occurred_at,
  component,
  payload: { 'agent_party.events.ComponentMetric': { name, value, unit } },
})
const health = (occurred_at: number): SystemEvent => ({
  event_id: eventId(),
  occurred_at,
  component: 'team-former',
  payload: { 'agent_party.events.ComponentHealth': { level: 'HEALTHY', message: 'ok' } },
})

type Input = { topic: 'agents' | 'teams' | 'system'; event: AgentEvent | TeamEvent | SystemEvent }

/** Pipes each input at `wall` (the driver's clock) with the record timestamp `timestamp` (default occurred_at). */
function small(
  steps: readonly (Input & { wall?: number; timestamp?: number })[],
  options: PerformanceOptions = defaults,
  driverOptions: TopologyTestDriverOptions = {},
) {
  const builder = new StreamsBuilder()
  const agents = builder.stream('agents', { keySerde: str, valueSerde: Serdes.Json<AgentEvent>() })
  const teams = builder.stream('teams', { keySerde: str, valueSerde: Serdes.Json<TeamEvent>() })
  const system = builder.stream('system', { keySerde: str, valueSerde: Serdes.Json<SystemEvent>() })
  const windows = TimeWindows.ofSizeAndGrace(SIZE, GRACE)
  processingLatency({ agents, teams, system }, windows, OUT.latency, Serdes.Json(), options)
  inferenceTime(teams, system, windows, OUT.inference, Serdes.Json(), options)
  componentMetrics(system, windows, OUT.components, Serdes.Json(), options)
  const driver = new TopologyTestDriver(builder.build(), { initialWallClockTimeMs: BASE, ...driverOptions })
  const inputs = {
    agents: driver.createInputTopic('agents', str, Serdes.Json<unknown>()),
    teams: driver.createInputTopic('teams', str, Serdes.Json<unknown>()),
    system: driver.createInputTopic('system', str, Serdes.Json<unknown>()),
  }
  let wall = BASE
  for (const s of steps) {
    if (s.wall !== undefined && s.wall > wall) {
      driver.advanceWallClockTime(s.wall - wall)
      wall = s.wall
    }
    inputs[s.topic].pipeInput('k', s.event, s.timestamp ?? s.event.occurred_at)
  }
  return {
    latency: finalValues<ProcessingLatency>(driver, OUT.latency),
    inference: finalValues<InferenceTime>(driver, OUT.inference),
    components: finalValues<ComponentMetricSummary>(driver, OUT.components),
    driver,
  }
}

const T0 = BASE + 60_000 // a window start: BASE is a whole day, SIZE divides it

describe('performance metrics, edge cases', () => {
  it("latency is the wall clock minus occurred_at, negative when the producer's clock runs ahead", () => {
    const out = small([
      { topic: 'agents', event: agentEvent(T0 + 1_000), wall: T0 + 1_250 },
      { topic: 'agents', event: agentEvent(T0 + 2_000), wall: T0 + 2_000 },
      // occurred_at 500 ms after the wall clock.
      { topic: 'agents', event: agentEvent(T0 + 2_500), wall: T0 + 2_000 },
      { topic: 'teams', event: teamFormed(T0 + 3_000, 12.5), wall: T0 + 4_000 },
    ])
    const agents = out.latency.get(`agents@${T0}`) as ProcessingLatency
    expect(agents).toMatchObject({
      topic: 'agents',
      window_start: T0,
      window_end: T0 + SIZE,
      count: 3,
      min: -500,
      max: 250,
      mean: -250 / 3,
    })
    // Exact p50 is 0; p95 and p99 are the value at index floor(0.95 * 2) = 1 too.
    expect(agents.p50).toBe(0)
    expect(agents.p99).toBe(0)
    expect(out.latency.get(`teams@${T0}`)).toMatchObject({ count: 1, min: 1_000, max: 1_000 })
    expect(out.latency.size).toBe(2)
    for (const v of out.latency.values()) expect(schemas.latency.isValid(v)).toBe(true)
  })

  it("windows follow occurred_at, not the record's timestamp", () => {
    const out = small([
      // Record timestamp in the window before the event's own.
      { topic: 'agents', event: agentEvent(T0 + 10), timestamp: T0 - 5_000, wall: T0 + 20 },
      { topic: 'system', event: metric(T0 + 10, 'api-gateway', 'api_latency', 7), timestamp: T0 - 5_000 },
      { topic: 'teams', event: teamFormed(T0 + 10, 30), timestamp: T0 - 5_000 },
    ])
    expect([...out.latency.keys()]).toEqual([`agents@${T0}`, `system@${T0}`, `teams@${T0}`].sort())
    expect([...out.inference.keys()]).toEqual([`team_formed@${T0}`])
    expect([...out.components.keys()]).toEqual([`api-gateway/api_latency@${T0}`])
  })

  it('an event late beyond the grace changes nothing; one just inside it still counts', () => {
    const end = T0 + SIZE
    const out = small([
      { topic: 'system', event: metric(T0 + 1, 'api-gateway', 'api_latency', 10) },
      // Stream time end + grace - 1: the window is still open.
      { topic: 'system', event: metric(end + GRACE - 1, 'api-gateway', 'api_latency', 99) },
      { topic: 'system', event: metric(T0 + 2, 'api-gateway', 'api_latency', 20) },
      // Stream time end + grace: closed.
      { topic: 'system', event: metric(end + GRACE, 'api-gateway', 'api_latency', 99) },
      { topic: 'system', event: metric(T0 + 3, 'api-gateway', 'api_latency', 1_000) },
    ])
    expect(out.components.get(`api-gateway/api_latency@${T0}`)).toMatchObject({
      count: 2,
      sum: 30,
      min: 10,
      max: 20,
      mean: 15,
    })
    expect(out.components.get(`api-gateway/api_latency@${end}`)).toMatchObject({ count: 2, sum: 198 })
    expect(out.latency.get(`system@${T0}`)?.count).toBe(2)
  })

  it('inference time: TeamFormed as team_formed, the listed metrics in MILLISECONDS by component', () => {
    const steps: Input[] = [
      { topic: 'teams', event: teamFormed(T0 + 1, 40) },
      { topic: 'teams', event: teamFormed(T0 + 2, 60) },
      { topic: 'system', event: metric(T0 + 3, 'team-former', 'gnn_inference_time', 35) },
      { topic: 'system', event: metric(T0 + 4, 'ranker', 'model_inference_time', 8) },
      // A listed name in another unit, an unlisted name, and a health report: none is an inference time.
      { topic: 'system', event: metric(T0 + 5, 'team-former', 'gnn_inference_time', 3, 'COUNT') },
      { topic: 'system', event: metric(T0 + 6, 'team-former', 'api_latency', 500) },
      { topic: 'system', event: health(T0 + 7) },
    ]
    const out = small(steps)
    expect(
      Object.fromEntries([...out.inference].map(([k, v]) => [k, [v.count, v.min, v.max, v.mean]])),
    ).toEqual({
      [`team_formed@${T0}`]: [2, 40, 60, 50],
      [`team-former@${T0}`]: [1, 35, 35, 35],
      [`ranker@${T0}`]: [1, 8, 8, 8],
    })
    for (const v of out.inference.values()) expect(schemas.inference.isValid(v)).toBe(true)
    const custom = small(steps, resolvePerformanceOptions({ inferenceMetricNames: ['api_latency'] }))
    expect([...custom.inference.keys()].sort()).toEqual([`team-former@${T0}`, `team_formed@${T0}`])
    expect(custom.inference.get(`team-former@${T0}`)?.max).toBe(500)
  })

  it('component metrics: one key per component and name, the latest unit, zero and negative values', () => {
    const out = small([
      { topic: 'system', event: metric(T0 + 1, 'event-pipeline', 'cpu', 0, 'PERCENT') },
      { topic: 'system', event: metric(T0 + 2, 'event-pipeline', 'cpu', 50, 'PERCENT') },
      { topic: 'system', event: metric(T0 + 3, 'event-pipeline', 'drift', -4, 'COUNT') },
      { topic: 'system', event: metric(T0 + 4, 'event-pipeline', 'drift', 2, 'UNKNOWN') },
      { topic: 'system', event: metric(T0 + 5, 'task-runner', 'cpu', 7, 'PERCENT') },
      { topic: 'system', event: health(T0 + 6) },
    ])
    const fields = (v: ComponentMetricSummary) => [v.component, v.name, v.unit, v.count, v.sum, v.min, v.max]
    expect(Object.fromEntries([...out.components].map(([k, v]) => [k, fields(v)]))).toEqual({
      [`event-pipeline/cpu@${T0}`]: ['event-pipeline', 'cpu', 'PERCENT', 2, 50, 0, 50],
      [`event-pipeline/drift@${T0}`]: ['event-pipeline', 'drift', 'UNKNOWN', 2, -2, -4, 2],
      [`task-runner/cpu@${T0}`]: ['task-runner', 'cpu', 'PERCENT', 1, 7, 7, 7],
    })
    const drift = out.components.get(`event-pipeline/drift@${T0}`) as ComponentMetricSummary
    expect(withinRelativeAccuracy(drift.p50, -4, defaults.relativeAccuracy)).toBe(true)
    expect(out.components.get(`event-pipeline/cpu@${T0}`)?.p50).toBe(0)
    for (const v of out.components.values()) expect(schemas.components.isValid(v)).toBe(true)
  })

  it('the aggregates survive a move to another instance (restored from their changelogs)', () => {
    const first = small(
      [
        { topic: 'system', event: metric(T0 + 1, 'event-pipeline', 'heap_used', 100, 'BYTES') },
        { topic: 'system', event: metric(T0 + 2, 'event-pipeline', 'heap_used', 300, 'BYTES') },
        { topic: 'teams', event: teamFormed(T0 + 3, 20) },
      ],
      defaults,
      { applicationId: 'app' },
    )
    const changelogs = Object.fromEntries(
      first.driver
        .producedTopicNames()
        .filter((t) => t.startsWith('app-perf-') && t.endsWith('-changelog'))
        .map((t) => [
          t,
          first.driver
            .createOutputTopic(t, Serdes.Buffer(), Serdes.Buffer())
            .readKeyValuesToList()
            .map(([key, value]) => ({ key, value })),
        ]),
    )
    expect(Object.keys(changelogs).sort()).toEqual([
      'app-perf-component-metrics-changelog',
      'app-perf-inference-time-changelog',
      'app-perf-latency-changelog',
    ])
    const second = small(
      [
        { topic: 'system', event: metric(T0 + 4, 'event-pipeline', 'heap_used', 200, 'COUNT') },
        { topic: 'teams', event: teamFormed(T0 + 5, 40) },
      ],
      defaults,
      { applicationId: 'app', changelogs },
    )
    const heap = second.components.get(`event-pipeline/heap_used@${T0}`) as ComponentMetricSummary
    expect([heap.component, heap.name, heap.unit, heap.count, heap.sum, heap.min, heap.max]).toEqual([
      'event-pipeline',
      'heap_used',
      'COUNT',
      3,
      600,
      100,
      300,
    ])
    expect(withinRelativeAccuracy(heap.p50, 200, defaults.relativeAccuracy)).toBe(true)
    expect(second.inference.get(`team_formed@${T0}`)).toMatchObject({ count: 2, min: 20, max: 40, mean: 30 })
    expect(second.latency.get(`system@${T0}`)?.count).toBe(3)
  })

  it('NaN and infinite samples (valid Avro doubles) are left out instead of failing the task', () => {
    const record = (event: SystemEvent | TeamEvent): GeneratedRecord =>
      ({
        family: 'component' in event ? 'system_events' : 'team_events',
        key: 'component' in event ? event.component : event.team_id,
        event,
        timestamp: event.occurred_at,
        duplicate: false,
        delay: 'none',
      }) as GeneratedRecord
    const { driver } = run([
      record(metric(T0 + 1, 'team-former', 'gnn_inference_time', Number.NaN)),
      record(metric(T0 + 2, 'team-former', 'gnn_inference_time', Number.POSITIVE_INFINITY)),
      record(teamFormed(T0 + 3, Number.NEGATIVE_INFINITY)),
      record(metric(T0 + 4, 'team-former', 'gnn_inference_time', 42)),
      record(teamFormed(T0 + 5, 17)),
    ])
    const inference = finalValues<InferenceTime>(driver, OUT.inference)
    expect(Object.fromEntries([...inference].map(([k, v]) => [k, [v.count, v.min, v.max]]))).toEqual({
      [`team-former@${T0}`]: [1, 42, 42],
      [`team_formed@${T0}`]: [1, 17, 17],
    })
    const components = finalValues<ComponentMetricSummary>(driver, OUT.components)
    expect(components.get(`team-former/gnn_inference_time@${T0}`)?.count).toBe(1)
    // Every event still counts for its topic's latency.
    expect(
      finalValues<ProcessingLatency>(driver, OUT.latency).get(`${topics.system_events}@${T0}`)?.count,
    ).toBe(3)
  })

  it('the relative accuracy option reaches the sketches', () => {
    const values = [1234.5, 1240, 1250]
    const run = (relativeAccuracy: number) =>
      small(
        values.map((v, i) => ({ topic: 'system', event: metric(T0 + i, 'api-gateway', 'api_latency', v) })),
        resolvePerformanceOptions({ relativeAccuracy }),
      ).components.get(`api-gateway/api_latency@${T0}`) as ComponentMetricSummary
    const fine = run(0.0001)
    const coarse = run(0.1)
    expect(withinRelativeAccuracy(fine.p50, 1240, 0.0001)).toBe(true)
    expect(withinRelativeAccuracy(coarse.p50, 1240, 0.1)).toBe(true)
    expect(withinRelativeAccuracy(coarse.p50, 1240, 0.0001)).toBe(false)
  })

  it('bad options fail naming the setting', () => {
    for (const relativeAccuracy of [0, 1, -0.1, Number.NaN, '0.01' as unknown as number]) {
      expect(() => resolvePerformanceOptions({ relativeAccuracy })).toThrow(
        expect.objectContaining({ name: 'ProcessorConfigError', setting: 'performance.relativeAccuracy' }),
      )
    }
    for (const inferenceMetricNames of [
      [],
      [''],
      'gnn_inference_time' as unknown as string[],
      [3 as unknown as string],
    ]) {
      expect(() => resolvePerformanceOptions({ inferenceMetricNames })).toThrow(
        expect.objectContaining({ setting: 'performance.inferenceMetricNames' }),
      )
    }
    expect(resolvePerformanceOptions()).toEqual({
      relativeAccuracy: 0.01,
      inferenceMetricNames: ['gnn_inference_time', 'model_inference_time'],
    })
  })
})
