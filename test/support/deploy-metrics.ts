// What the deploy files' queries may name: every metric the project's processes export, read from
// the registries the real code builds (config/metrics.ts for the processor and the sinks; the API's
// HTTP histogram, business gauges and lag exporter), with the series names Prometheus derives from
// histograms; and a small PromQL reader that lists the metrics, label matchers and grouping labels
// a query uses (no PromQL parser exists for Node without pulling a large dependency; promtool checks
// the syntax itself).
import { Histogram, Registry, Summary } from 'prom-client'
import { registerBusinessMetrics } from '../../api/business-metrics.js'
import { createHttpMetrics } from '../../api/http-metrics.js'
import { LagExporter, type LagSource } from '../../api/lag/lag-exporter.js'
import { loadConfig } from '../../config/config.js'
import { createMetrics } from '../../config/metrics.js'
import type { RedisReadModel } from '../../sinks/redis/read-model.js'

/** Labels Prometheus adds to every scraped series. */
export const TARGET_LABELS = ['job', 'instance'] as const
/** Series Prometheus makes itself, which rules may name. */
export const PROMETHEUS_SERIES: Record<string, readonly string[]> = { up: [] }

/** Series name -> its label names, for every series the project's processes export. */
export async function exportedSeries(): Promise<Map<string, readonly string[]>> {
  const processes = createMetrics(new Registry(), { defaultMetrics: true, storeOperations: true }).registry
  const api = new Registry()
  createHttpMetrics(api)
  registerBusinessMetrics({ registry: api, readModel: {} as RedisReadModel })
  const source: LagSource = {
    groupsWithPrefix: async () => [],
    read: async () => ({ lags: [], failed: new Map(), ends: new Map() }),
    close: async () => {},
  }
  const lag = new LagExporter({ kafka: loadConfig({}).kafka, registry: api, groups: [], source })
  await lag.close()
  const series = new Map<string, readonly string[]>()
  for (const registry of [processes, api])
    for (const metric of registry.getMetricsAsArray()) {
      const { name, labelNames = [] } = metric as unknown as { name: string; labelNames?: string[] }
      if (metric instanceof Histogram) {
        series.set(`${name}_bucket`, [...labelNames, 'le'])
        series.set(`${name}_sum`, labelNames)
        series.set(`${name}_count`, labelNames)
      } else if (metric instanceof Summary) {
        series.set(name, [...labelNames, 'quantile'])
        series.set(`${name}_sum`, labelNames)
        series.set(`${name}_count`, labelNames)
      } else series.set(name, labelNames)
    }
  return series
}

export interface QueryUse {
  /** Metric names the query selects. */
  readonly metrics: readonly { name: string; labels: readonly string[] }[]
  /** Labels of by/without/on/ignoring/group_left/group_right clauses. */
  readonly grouping: readonly string[]
}

// Operators, and aggregations (which may be followed by `by (...)` rather than their arguments).
const KEYWORDS = new Set([
  ...['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'atan2'],
  ...['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk'],
  'quantile',
])
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'])

/** Reads the metric names, their matchers' labels and the grouping labels of a PromQL expression. */
export function queryUse(expr: string): QueryUse {
  const metrics: { name: string; labels: string[] }[] = []
  const grouping: string[] = []
  let i = 0
  const skipSpace = () => {
    while (i < expr.length && /\s/.test(expr[i] as string)) i++
  }
  const skipString = () => {
    const quote = expr[i]
    i++
    while (i < expr.length && expr[i] !== quote) i += expr[i] === '\\' ? 2 : 1
    i++
  }
  const labelList = (close: string): string[] => {
    const labels: string[] = []
    while (i < expr.length && expr[i] !== close) {
      const c = expr[i] as string
      if (c === '"' || c === "'" || c === '`') {
        skipString()
        continue
      }
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(expr.slice(i))
      if (word) {
        labels.push(word[0])
        i += word[0].length
        // a matcher: skip its operator and value
        skipSpace()
        if (close === '}' && /^(=~|!~|!=|=)/.test(expr.slice(i))) {
          i += /^(=~|!~|!=|=)/.exec(expr.slice(i))?.[0].length ?? 0
          skipSpace()
          if (/["'`]/.test(expr[i] as string)) skipString()
        }
        continue
      }
      i++
    }
    i++
    return labels
  }
  while (i < expr.length) {
    const c = expr[i] as string
    if (c === '"' || c === "'" || c === '`') {
      skipString()
    } else if (c === '[') {
      while (i < expr.length && expr[i] !== ']') i++
      i++
    } else if (c === '$') {
      // a Grafana variable ($__rate_interval, $job)
      i++
      i += /^\{?[A-Za-z0-9_]*\}?/.exec(expr.slice(i))?.[0].length ?? 0
    } else if (/[0-9.]/.test(c)) {
      i += /^[0-9.]+([eE][+-]?[0-9]+)?[smhdwy]*/.exec(expr.slice(i))?.[0].length ?? 1
    } else if (/[A-Za-z_:]/.test(c)) {
      const word = (/^[A-Za-z_:][A-Za-z0-9_:]*/.exec(expr.slice(i)) as RegExpExecArray)[0]
      i += word.length
      skipSpace()
      if (GROUPING.has(word)) {
        if (expr[i] === '(') {
          i++
          grouping.push(...labelList(')'))
        }
      } else if (expr[i] === '(' || KEYWORDS.has(word.toLowerCase())) {
        // a function or aggregation (its arguments are read on), or an operator keyword
      } else if (expr[i] === '{') {
        i++
        metrics.push({ name: word, labels: labelList('}') })
      } else {
        metrics.push({ name: word, labels: [] })
      }
    } else {
      i++
    }
  }
  return { metrics, grouping }
}

/** Problems of a query against the exported series: unknown metrics or labels. Empty when it is sound. */
export function queryProblems(expr: string, exported: ReadonlyMap<string, readonly string[]>): string[] {
  const use = queryUse(expr)
  const problems: string[] = []
  if (use.metrics.length === 0) problems.push(`names no metric: ${expr}`)
  const known = (name: string) => exported.get(name) ?? PROMETHEUS_SERIES[name]
  const labelsInQuery = new Set<string>(TARGET_LABELS)
  for (const { name, labels } of use.metrics) {
    const metricLabels = known(name)
    if (metricLabels === undefined) {
      problems.push(`${name} is not exported by the project`)
      continue
    }
    for (const l of metricLabels) labelsInQuery.add(l)
    for (const label of labels)
      if (!metricLabels.includes(label) && !(TARGET_LABELS as readonly string[]).includes(label))
        problems.push(`${name} has no label ${label}`)
  }
  for (const label of use.grouping)
    if (!labelsInQuery.has(label)) problems.push(`no metric of the query has the label ${label} it groups by`)
  return problems
}
