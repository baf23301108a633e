// Deliberately naive references for the performance metrics: plain loops over the events in arrival
// order (no DSL, no code shared with processors/). A value counts in its window unless that window had
// closed (its end + grace at or before the largest event time the aggregate had seen, Kafka Streams'
// rule), and each window's values are summarized by sorting them: the exact quantile q is the value at
// index floor(q * (n - 1)).

/** One measured value: its key, its event time, the number and (for component metrics) the unit. */
export interface Sample {
  readonly key: string
  readonly time: number
  readonly value: number
  readonly unit?: string
}

export interface ReferenceWindow {
  readonly key: string
  readonly window_start: number
  readonly window_end: number
  readonly values: number[]
  /** The unit of the latest sample in arrival order. */
  unit: string | undefined
}

export interface ReferenceSummary {
  key: string
  window_start: number
  window_end: number
  count: number
  sum: number
  min: number
  max: number
  mean: number
  p50: number
  p95: number
  p99: number
  unit: string | undefined
}

/** Tumbling windows: per `key@windowStart`, the on-time values in arrival order; and how many were late. */
export function referenceWindows(
  samples: readonly Sample[],
  sizeMs: number,
  graceMs: number,
): { windows: Map<string, ReferenceWindow>; late: number } {
  const windows = new Map<string, ReferenceWindow>()
  let streamTime = Number.NEGATIVE_INFINITY
  let late = 0
  for (const s of samples) {
    if (s.time > streamTime) streamTime = s.time
    const start = Math.floor(s.time / sizeMs) * sizeMs
    if (start + sizeMs + graceMs <= streamTime) {
      late++
      continue
    }
    const id = `${s.key}@${start}`
    let w = windows.get(id)
    if (w === undefined) {
      w = { key: s.key, window_start: start, window_end: start + sizeMs, values: [], unit: undefined }
      windows.set(id, w)
    }
    w.values.push(s.value)
    w.unit = s.unit
  }
  return { windows, late }
}

export function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))] as number
}

export function referenceSummary(w: ReferenceWindow): ReferenceSummary {
  const sorted = [...w.values].sort((a, b) => a - b)
  let sum = 0
  for (const v of w.values) sum += v
  return {
    key: w.key,
    window_start: w.window_start,
    window_end: w.window_end,
    count: sorted.length,
    sum,
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    mean: sum / sorted.length,
    p50: exactQuantile(sorted, 0.5),
    p95: exactQuantile(sorted, 0.95),
    p99: exactQuantile(sorted, 0.99),
    unit: w.unit,
  }
}

/** Every window's summary by `key@windowStart`. */
export function referenceSummaries(
  samples: readonly Sample[],
  sizeMs: number,
  graceMs: number,
): { summaries: Map<string, ReferenceSummary>; late: number } {
  const { windows, late } = referenceWindows(samples, sizeMs, graceMs)
  const summaries = new Map<string, ReferenceSummary>()
  for (const [id, w] of windows) summaries.set(id, referenceSummary(w))
  return { summaries, late }
}

/** Whether `reported` is within relative accuracy `alpha` of `exact` (and a hair of float rounding). */
export function withinRelativeAccuracy(reported: number, exact: number, alpha: number): boolean {
  return Math.abs(reported - exact) <= alpha * Math.abs(exact) + 1e-9
}

interface SampledRecord {
  readonly family: string
  readonly event: unknown
}

const kindOf = (payload: object) => (Object.keys(payload)[0] ?? '').split('.').pop()
const bodyOf = (payload: object) => Object.values(payload)[0] as Record<string, unknown>

/** The first copy of each record's event, in the order given. */
function firstCopies<R extends SampledRecord>(records: readonly R[]): R[] {
  const seen = new Set<string>()
  return records.filter((r) => {
    const id = (r.event as { event_id: string }).event_id
    if (seen.has(id)) return false
    seen.add(id)
    return true
  })
}

/** Every ComponentMetric of the distinct events, keyed `<component>/<name>`, with its unit. */
export function componentMetricSamples(records: readonly SampledRecord[]): Sample[] {
  const samples: Sample[] = []
  for (const r of firstCopies(records)) {
    const e = r.event as { occurred_at: number; payload: object; component?: string }
    if (r.family !== 'system_events' || kindOf(e.payload) !== 'ComponentMetric') continue
    const b = bodyOf(e.payload)
    samples.push({
      key: `${e.component}/${b.name}`,
      time: e.occurred_at,
      value: b.value as number,
      unit: b.unit as string,
    })
  }
  return samples
}

/**
 * The inference times of the distinct events: TeamFormed's inference_time_ms (key `team_formed`) and
 * the ComponentMetrics named in `names` in MILLISECONDS (key: the component).
 */
export function inferenceTimeSamples(
  records: readonly SampledRecord[],
  names: readonly string[] = ['gnn_inference_time', 'model_inference_time'],
): Sample[] {
  const samples: Sample[] = []
  for (const r of firstCopies(records)) {
    const e = r.event as { occurred_at: number; payload: object; component?: string }
    const b = bodyOf(e.payload)
    if (r.family === 'team_events' && kindOf(e.payload) === 'TeamFormed') {
      samples.push({ key: 'team_formed', time: e.occurred_at, value: b.inference_time_ms as number })
    }
    if (
      r.family === 'system_events' &&
      kindOf(e.payload) === 'ComponentMetric' &&
      names.includes(b.name as string) &&
      b.unit === 'MILLISECONDS'
    ) {
      samples.push({ key: e.component as string, time: e.occurred_at, value: b.value as number })
    }
  }
  return samples
}
