// The operations guide's business and performance metrics as Prometheus gauges, read from the
// processors' exact windowed results in the Redis read model at scrape time (never from counters in
// this process, which a retry or a restart would skew): each gauge shows the latest closed 1-minute
// window (the one before the window holding now). One read of Redis serves all the gauges of a
// scrape; a failed read leaves the gauges empty for that scrape and is counted, never failing /metrics.

import type { Logger } from 'pino'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { OutputName } from '../processors/outputs.js'
import type { RedisReadModel, WindowValue } from '../sinks/redis/read-model.js'

type Labels = Record<string, string>
type Sample = readonly [Labels, number]

interface GaugeSpec {
  readonly name: string
  readonly help: string
  readonly output: OutputName
  readonly labels: readonly string[]
  readonly samples: (value: WindowValue) => readonly Sample[]
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number.NaN)
const minutes = (v: WindowValue) => (v.window_end - v.window_start) / 60_000
const QUANTILES = [
  ['p50', '0.5'],
  ['p95', '0.95'],
  ['p99', '0.99'],
] as const

export const BUSINESS_GAUGES: readonly GaugeSpec[] = [
  {
    name: 'agent_party_agent_instantiations_per_minute',
    help: 'Agents instantiated per minute, per template and version, in the latest closed 1-minute window',
    output: 'agentInstantiations',
    labels: ['template_id', 'version'],
    samples: (v) => [[{ template_id: String(v.template_id), version: String(v.version) }, num(v.per_minute)]],
  },
  {
    name: 'agent_party_team_formation_success_ratio',
    help: 'Teams formed / (formed + failed formations) in the latest closed 1-minute window (absent when none)',
    output: 'teamFormations',
    // A label, so that no series at all (rather than 0) shows a window without formations.
    labels: ['group'],
    samples: (v) => (num(v.formed) + num(v.failed) > 0 ? [[{ group: 'all' }, num(v.success_rate)]] : []),
  },
  {
    name: 'agent_party_task_completion_ratio',
    help: 'Tasks completed / tasks ended, per priority, in the latest closed 1-minute window',
    output: 'taskOutcomes',
    labels: ['priority'],
    samples: (v) => [[{ priority: String(v.priority) }, num(v.completion_rate)]],
  },
  {
    name: 'agent_party_task_failure_ratio',
    help: 'Tasks failed / tasks ended, per priority, in the latest closed 1-minute window',
    output: 'taskOutcomes',
    labels: ['priority'],
    samples: (v) => [[{ priority: String(v.priority) }, num(v.failure_rate)]],
  },
  {
    name: 'agent_party_token_consumption_per_minute',
    help: 'Tokens consumed per minute, per template, in the latest closed 1-minute window',
    output: 'tokensByTemplate',
    labels: ['template_id'],
    samples: (v) => [[{ template_id: String(v.template_id) }, num(v.tokens) / minutes(v)]],
  },
  {
    name: 'agent_party_processing_latency_seconds',
    help: 'Event processing latency (occurred_at to processed) quantiles per input topic, in the latest closed 1-minute window',
    output: 'processingLatency',
    labels: ['topic', 'quantile'],
    samples: (v) =>
      QUANTILES.map(([field, q]) => [{ topic: String(v.topic), quantile: q }, num(v[field]) / 1000] as const),
  },
  {
    name: 'agent_party_inference_time_seconds',
    help: 'Model inference time quantiles per source, in the latest closed 1-minute window',
    output: 'inferenceTime',
    labels: ['source', 'quantile'],
    samples: (v) =>
      QUANTILES.map(
        ([field, q]) => [{ source: String(v.source), quantile: q }, num(v[field]) / 1000] as const,
      ),
  },
]

export interface BusinessMetricsOptions {
  readonly registry: Registry
  readonly readModel: RedisReadModel
  /** The metrics windows' size (PROCESSOR_CONFIG), default 60 000. */
  readonly windowMs?: number
  readonly now?: () => number
  readonly logger?: Logger
}

/** Registers the gauges; their values are read from Redis when the registry is scraped. */
export function registerBusinessMetrics(options: BusinessMetricsOptions): void {
  const { registry, readModel } = options
  const windowMs = options.windowMs ?? 60_000
  const now = options.now ?? Date.now
  const failures = new Counter({
    name: 'agent_party_business_metrics_read_failures_total',
    help: 'Scrapes whose read of the windowed results from Redis failed (the business gauges were empty)',
    registers: [registry],
  })
  const latestClosedStart = (t: number) => Math.floor(t / windowMs) * windowMs - windowMs
  new Gauge({
    name: 'agent_party_business_metrics_window_start_seconds',
    help: 'Start of the window the business gauges describe (the latest closed 1-minute window)',
    registers: [registry],
    collect() {
      this.set(latestClosedStart(now()) / 1000)
    },
  })
  // One read per scrape, shared by every gauge's collect.
  let pending: { at: number; values: Promise<Map<OutputName, WindowValue[]> | undefined> } | undefined
  const read = () => {
    const t = now()
    if (pending === undefined || t - pending.at > 1000) pending = { at: t, values: readWindows(t) }
    return pending.values
  }
  const readWindows = async (t: number): Promise<Map<OutputName, WindowValue[]> | undefined> => {
    const start = latestClosedStart(t)
    try {
      const outputs = [...new Set(BUSINESS_GAUGES.map((g) => g.output))]
      const entries = await Promise.all(
        outputs.map(async (output) => {
          const groups = await readModel.metricGroups(output)
          const windows = await Promise.all(
            groups.map((g) => readModel.metricWindows(output, g.group, start, start + 1)),
          )
          return [output, windows.flat()] as const
        }),
      )
      return new Map(entries)
    } catch (error) {
      failures.inc()
      options.logger?.warn({ err: error }, 'business metrics: cannot read the windowed results from Redis')
      return undefined
    }
  }
  for (const spec of BUSINESS_GAUGES) {
    new Gauge({
      name: spec.name,
      help: spec.help,
      labelNames: [...spec.labels],
      registers: [registry],
      async collect() {
        this.reset()
        const values = (await read())?.get(spec.output) ?? []
        for (const value of values)
          for (const [labels, n] of spec.samples(value)) if (Number.isFinite(n)) this.set(labels, n)
      },
    })
  }
}
