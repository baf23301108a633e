// The operations guide's performance metrics as windowed quantile aggregates (each record lands in every
// window of the configured TimeWindows, by its event time, occurred_at): the processing latency of
// every input topic, the GNN/model inference time, and every ComponentMetric per component and name.
// Each keeps a quantile sketch per key and window (QuantileSketch: p50/p95/p99 within the relative
// accuracy α of the exact values, count, sum, min and max exact) and emits a summary of it on each
// update. Keys are re-keyed by what is measured, so each goes through a repartition topic: the latency
// and the inference time as sketches, each task folding its values per key and slice of the windows
// until it commits (KStream.combine), the component metrics value by value. Records too late for their
// windows change nothing (the windowed aggregate counts them; a fold counts as one).
import type { ComponentMetric, MetricUnit, SystemEvent, TeamEvent, TeamFormed } from '../../schemas/index.js'
import { payloadName, payloadOf } from '../../schemas/payload.js'
import {
  type KeyValue,
  type KStream,
  Materialized,
  type Processor,
  type ProcessorContext,
  QuantileSketch,
  quantileSketch,
  quantileSketchSerde,
  type Serde,
  Serdes,
  type StreamRecord,
  type TimeWindows,
  type Windowed,
} from '../../topology/index.js'
import { ProcessorConfigError } from '../config-error.js'
import { windowedKey } from '../windowed-key.js'

/** What every input event has: its event time. */
export interface TimedEvent {
  readonly occurred_at: number
}

/** The distribution of a window's values; the quantiles within the relative accuracy, the rest exact. */
export interface WindowSummary {
  /** Window start and end (exclusive), epoch ms. */
  window_start: number
  window_end: number
  count: number
  min: number
  max: number
  mean: number
  p50: number
  p95: number
  p99: number
}

/** Milliseconds from an event's occurred_at to its processing, per input topic and window. */
export interface ProcessingLatency extends WindowSummary {
  topic: string
}

/** Inference time in milliseconds per source (`team_formed` or the reporting component) and window. */
export interface InferenceTime extends WindowSummary {
  source: string
}

/** The samples of one metric of one component in a window. */
export interface ComponentMetricSummary extends WindowSummary {
  component: string
  name: string
  /** The unit of the window's latest sample. */
  unit: MetricUnit
  sum: number
}

export interface PerformanceOptionsInput {
  /** α in (0, 1) of every quantile sketch: each pNN is within α·|exact| of the exact one. Default 0.01. */
  relativeAccuracy?: number
  /**
   * The ComponentMetric names that are inference times (only samples in MILLISECONDS count).
   * Default `['gnn_inference_time', 'model_inference_time']`.
   */
  inferenceMetricNames?: readonly string[]
}

export interface PerformanceOptions {
  readonly relativeAccuracy: number
  readonly inferenceMetricNames: readonly string[]
}

/** The source key of TeamFormed's inference time. */
export const TEAM_FORMED_SOURCE = 'team_formed'

export const DEFAULT_INFERENCE_METRIC_NAMES: readonly string[] = [
  'gnn_inference_time',
  'model_inference_time',
]

/** Defaults filled in and checked; a bad value throws ProcessorConfigError naming the setting. */
export function resolvePerformanceOptions(input: PerformanceOptionsInput = {}): PerformanceOptions {
  const relativeAccuracy = input.relativeAccuracy ?? 0.01
  if (!(typeof relativeAccuracy === 'number' && relativeAccuracy > 0 && relativeAccuracy < 1)) {
    throw new ProcessorConfigError(
      'performance.relativeAccuracy',
      relativeAccuracy,
      'a number between 0 and 1 (exclusive)',
    )
  }
  const names = input.inferenceMetricNames ?? DEFAULT_INFERENCE_METRIC_NAMES
  if (
    !Array.isArray(names) ||
    names.length === 0 ||
    !names.every((n) => typeof n === 'string' && n.length > 0)
  ) {
    throw new ProcessorConfigError(
      'performance.inferenceMetricNames',
      names,
      'a non-empty list of non-empty metric names',
    )
  }
  return { relativeAccuracy, inferenceMetricNames: [...names] }
}

const str = Serdes.String()
const COMPONENT_METRIC = 'ComponentMetric'

function summary(key: Windowed<string>, sketch: QuantileSketch): WindowSummary {
  return {
    window_start: key.window.start,
    window_end: key.window.end,
    count: sketch.count,
    min: sketch.min,
    max: sketch.max,
    mean: sketch.sum / sketch.count,
    p50: sketch.quantile(0.5),
    p95: sketch.quantile(0.95),
    p99: sketch.quantile(0.99),
  }
}

/**
 * Stamps each event with the processor's wall clock (`now - occurred_at`, the value forwarded) and moves
 * its record timestamp to occurred_at, so the windows are those of the event time.
 */
class LatencyStamp<K, V extends TimedEvent> implements Processor<K, V, K, number> {
  #context!: ProcessorContext<K, number>

  init(context: ProcessorContext<K, number>): void {
    this.#context = context
  }

  process(record: StreamRecord<K, V>): void {
    const e = record.value
    if (e === null || e === undefined) return
    const latency = this.#context.currentSystemTimeMs() - e.occurred_at
    this.#context.forward(record.withValue(latency).withTimestamp(e.occurred_at))
  }
}

/** Moves each record's timestamp to its event's occurred_at (the producer may have set another). */
class EventTime<K, V extends TimedEvent> implements Processor<K, V, K, V> {
  #context!: ProcessorContext<K, V>

  init(context: ProcessorContext<K, V>): void {
    this.#context = context
  }

  process(record: StreamRecord<K, V>): void {
    const e = record.value
    if (e === null || e === undefined) return
    this.#context.forward(e.occurred_at === record.timestamp ? record : record.withTimestamp(e.occurred_at))
  }
}

function atEventTime<V extends TimedEvent>(stream: KStream<string, V>, name: string): KStream<string, V> {
  return stream.processValues(() => new EventTime<string, V>(), { name })
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b)
}

/** A number per key and window, summarized from a quantile sketch. */
function sketchPerWindow<S extends WindowSummary>(
  values: KStream<string, number>,
  windows: TimeWindows,
  options: PerformanceOptions,
  names: { readonly repartition: string; readonly store: string },
  output: string,
  valueSerde: Serde<S>,
  toValue: (key: Windowed<string>, sketch: QuantileSketch) => S,
): void {
  const agg = quantileSketch<string>({ relativeAccuracy: options.relativeAccuracy })
  // Each task folds its values into one sketch per key and slice of the windows until it commits, so the
  // repartition topic carries a sketch per key, slice and commit instead of every value (~1 record per
  // input event for the latency); the windowed aggregate merges the sketches.
  values
    .combine(agg.initializer, agg.aggregator, {
      name: `${names.store}-fold`,
      sliceMs: gcd(windows.sizeMs, windows.advanceMs),
    })
    .groupByKey({ name: names.repartition, keySerde: str, valueSerde: agg.serde })
    .windowedBy(windows)
    .aggregate(
      agg.initializer,
      agg.merger,
      Materialized.as<string, QuantileSketch>(names.store).withValueSerde(agg.serde),
    )
    .toStream({ name: `${names.store}-updates` })
    .filter((_key, sketch) => sketch !== null && sketch.count > 0, { name: `${names.store}-present` })
    .mapValues((sketch, key) => toValue(key, sketch as QuantileSketch), { name: `${names.store}-summary` })
    .to(output, { name: `${names.store}-sink`, keySerde: windowedKey(windows), valueSerde })
}

/**
 * Event processing latency per input topic and window: for each event, the processor's wall clock when
 * it is processed (after deduplication) minus its occurred_at, in ms (negative when the producer's
 * clock runs ahead). `streams` maps each input topic's name (the output key and `topic` field) to its
 * deduplicated stream. Store `perf-latency`, repartition `perf-latency-sketches-by-topic`.
 */
export function processingLatency<E extends Record<string, TimedEvent>>(
  streams: { readonly [topic in keyof E]: KStream<string, E[topic]> },
  windows: TimeWindows,
  output: string,
  valueSerde: Serde<ProcessingLatency>,
  options: PerformanceOptions = resolvePerformanceOptions(),
): void {
  const inputs = Object.entries(streams as unknown as Record<string, KStream<string, TimedEvent>>)
  const perTopic = inputs.map(([topic, stream], i) => {
    // Node names carry the topic's name when it fits the engine's 200 characters.
    const label = topic.length <= 160 ? topic : String(i)
    return stream
      .processValues(() => new LatencyStamp<string, TimedEvent>(), { name: `perf-latency-stamp-${label}` })
      .map((_key, latency): KeyValue<string, number> => [topic, latency], {
        name: `perf-latency-topic-${label}`,
      })
  })
  const [first, ...rest] = perTopic
  if (first === undefined) throw new RangeError('processingLatency needs at least one input stream')
  const merged = rest.reduce(
    (all, stream, i) => all.merge(stream, { name: `perf-latency-merge-${i + 1}` }),
    first,
  )
  sketchPerWindow(
    merged,
    windows,
    options,
    { repartition: 'perf-latency-sketches-by-topic', store: 'perf-latency' },
    output,
    valueSerde,
    (key, sketch) => ({ topic: key.key, ...summary(key, sketch) }),
  )
}

// A sample whose value is NaN or infinite (Avro doubles allow them) has no place in a sketch: it is
// left out rather than failing the task.
function componentMetric(e: SystemEvent): ComponentMetric | undefined {
  return payloadName(e.payload) === COMPONENT_METRIC ? payloadOf<ComponentMetric>(e.payload) : undefined
}

/**
 * GNN/model inference time in ms per source and window: TeamFormed's inference_time_ms (source
 * `team_formed`) and every ComponentMetric named in `options.inferenceMetricNames` whose unit is
 * MILLISECONDS (source: the component). Store `perf-inference-time`, repartition
 * `perf-inference-sketches-by-source`.
 */
export function inferenceTime(
  teamEvents: KStream<string, TeamEvent>,
  systemEvents: KStream<string, SystemEvent>,
  windows: TimeWindows,
  output: string,
  valueSerde: Serde<InferenceTime>,
  options: PerformanceOptions = resolvePerformanceOptions(),
): void {
  const metricNames = new Set(options.inferenceMetricNames)
  const formed = atEventTime(
    teamEvents.filter(
      (_id, e) =>
        payloadName(e.payload) === 'TeamFormed' &&
        Number.isFinite(payloadOf<TeamFormed>(e.payload).inference_time_ms),
      { name: 'perf-inference-formed' },
    ),
    'perf-inference-formed-time',
  ).map(
    (_id, e): KeyValue<string, number> => [
      TEAM_FORMED_SOURCE,
      payloadOf<TeamFormed>(e.payload).inference_time_ms,
    ],
    { name: 'perf-inference-formed-source' },
  )
  const reported = atEventTime(
    systemEvents.filter(
      (_component, e) => {
        const m = componentMetric(e)
        return (
          m !== undefined && m.unit === 'MILLISECONDS' && metricNames.has(m.name) && Number.isFinite(m.value)
        )
      },
      { name: 'perf-inference-reported' },
    ),
    'perf-inference-reported-time',
  ).map(
    (_component, e): KeyValue<string, number> => [e.component, (componentMetric(e) as ComponentMetric).value],
    { name: 'perf-inference-reported-source' },
  )
  sketchPerWindow(
    formed.merge(reported, { name: 'perf-inference-merge' }),
    windows,
    options,
    { repartition: 'perf-inference-sketches-by-source', store: 'perf-inference-time' },
    output,
    valueSerde,
    (key, sketch) => ({ source: key.key, ...summary(key, sketch) }),
  )
}

/** A component metric's running aggregate: who reports it, its latest unit and its values' sketch. */
interface MetricAggregate {
  readonly component: string
  readonly name: string
  readonly unit: MetricUnit
  readonly sketch: QuantileSketch
}

interface MetricSample {
  readonly component: string
  readonly name: string
  readonly unit: MetricUnit
  readonly value: number
}

// Layout: [header length u32 BE][header: UTF-8 JSON {component, name, unit}][the sketch's own encoding].
function metricAggregateSerde(): Serde<MetricAggregate> {
  const sketches = quantileSketchSerde()
  return {
    serialize(topic, agg) {
      const header = Buffer.from(JSON.stringify({ component: agg.component, name: agg.name, unit: agg.unit }))
      const sketch = sketches.serialize(topic, agg.sketch) as Buffer
      const length = Buffer.alloc(4)
      length.writeUInt32BE(header.length, 0)
      return Buffer.concat([length, header, sketch])
    },
    deserialize(topic, bytes) {
      const n = bytes.readUInt32BE(0)
      const header = JSON.parse(bytes.subarray(4, 4 + n).toString('utf8')) as Omit<MetricAggregate, 'sketch'>
      return { ...header, sketch: sketches.deserialize(topic, bytes.subarray(4 + n)) }
    },
  }
}

/**
 * Every ComponentMetric per (component, name) and window: count, sum, min, max, mean, p50/p95/p99 and
 * the unit (of the window's latest sample). Keyed `<component>/<name>`; the value carries both. Store
 * `perf-component-metrics`, repartition `perf-component-metrics-by-name`.
 */
export function componentMetrics(
  systemEvents: KStream<string, SystemEvent>,
  windows: TimeWindows,
  output: string,
  valueSerde: Serde<ComponentMetricSummary>,
  options: PerformanceOptions = resolvePerformanceOptions(),
): void {
  const empty = QuantileSketch.empty(options.relativeAccuracy)
  atEventTime(
    systemEvents.filter((_component, e) => Number.isFinite(componentMetric(e)?.value), {
      name: 'perf-component-metrics-samples',
    }),
    'perf-component-metrics-time',
  )
    .map(
      (_component, e): KeyValue<string, MetricSample> => {
        const m = componentMetric(e) as ComponentMetric
        return [
          `${e.component}/${m.name}`,
          { component: e.component, name: m.name, unit: m.unit, value: m.value },
        ]
      },
      { name: 'perf-component-metrics-key' },
    )
    .groupByKey({
      name: 'perf-component-metrics-by-name',
      keySerde: str,
      valueSerde: Serdes.Json<MetricSample>(),
    })
    .windowedBy(windows)
    .aggregate<MetricAggregate>(
      () => ({ component: '', name: '', unit: 'UNKNOWN', sketch: empty }),
      (_key, s, agg) => ({
        component: s.component,
        name: s.name,
        unit: s.unit,
        sketch: agg.sketch.add(s.value),
      }),
      Materialized.as<string, MetricAggregate>('perf-component-metrics').withValueSerde(
        metricAggregateSerde(),
      ),
    )
    .toStream({ name: 'perf-component-metrics-updates' })
    .filter((_key, agg) => agg !== null && agg.sketch.count > 0, { name: 'perf-component-metrics-present' })
    .mapValues(
      (agg, key): ComponentMetricSummary => {
        const a = agg as MetricAggregate
        return {
          component: a.component,
          name: a.name,
          unit: a.unit,
          ...summary(key, a.sketch),
          sum: a.sketch.sum,
        }
      },
      { name: 'perf-component-metrics-summary' },
    )
    .to(output, { name: 'perf-component-metrics-sink', keySerde: windowedKey(windows), valueSerde })
}
