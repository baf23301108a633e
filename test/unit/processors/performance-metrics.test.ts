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
