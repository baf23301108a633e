// The Agent Party topology's settings: topic names (tests prefix them), and what its rules need. Each
// bad value fails with a ProcessorConfigError naming the setting and the expected form.
import { readFileSync } from 'node:fs'
import { type EventFamily, topicNames } from '../schemas/index.js'
import { type AlertsOptions, resolveAlertsOptions } from './alerts/alert.js'
import { ProcessorConfigError, topicName, wholeMs } from './config-error.js'
import {
  type PerformanceOptions,
  type PerformanceOptionsInput,
  resolvePerformanceOptions,
} from './metrics/performance.js'
import { OUTPUT_NAMES, OUTPUTS, type OutputName } from './outputs.js'

export interface ProcessorConfig {
  /** The consumer group; the operations guide's name by default. */
  readonly applicationId: string
  readonly inputTopics: Readonly<Record<EventFamily, string>>
  /** `agent_party.<name>` by default (processors/outputs.ts). */
  readonly outputTopics: Readonly<Record<OutputName, string>>
  /** How long (event time) a seen event id is remembered to drop a producer's retry. Default 1 h. */
  readonly dedupHorizonMs: number
  /**
   * The metrics' windows: size (default 1 min, tumbling) and grace (default 30 s). Every windowed
   * output uses them; the business metrics also come on hopping windows (below).
   */
  readonly metricsWindowMs: number
  readonly metricsGraceMs: number
  /** The business metrics' hopping windows: size (default 1 h) and advance (default 5 min). */
  readonly hoppingWindowMs: number
  readonly hoppingAdvanceMs: number
  /** Agents in the running top-N of token consumers per window. Default 10. */
  readonly topN: number
  /** Inactivity gap that ends an agent's activity session. Default 5 min. */
  readonly sessionGapMs: number
  /**
   * How far ahead of this processor's clock an event's occurred_at may be (producers' clocks drift);
   * an event further ahead goes to the dead-letter topic. Default 1 h.
   */
  readonly maxFutureSkewMs: number
  /**
   * How far apart in event time the instances of the group may run (the runtime's
   * eventTimeAlignment); null turns the alignment off. Default 5 s, or half of metricsGraceMs when
   * that is less: a replay by several instances would otherwise drop records as late in the
   * aggregates behind repartition topics. Less than metricsGraceMs minus how late events come.
   */
  readonly maxEventTimeDriftMs: number | null
  readonly performance: PerformanceOptions
  readonly alerts: Required<AlertsOptions>
}

export interface ProcessorConfigInput {
  applicationId?: string
  inputTopics?: Partial<Record<EventFamily, string>>
  outputTopics?: Partial<Record<OutputName, string>>
  dedupHorizonMs?: number
  metricsWindowMs?: number
  metricsGraceMs?: number
  hoppingWindowMs?: number
  hoppingAdvanceMs?: number
  topN?: number
  sessionGapMs?: number
  maxFutureSkewMs?: number
  maxEventTimeDriftMs?: number | null
  performance?: PerformanceOptionsInput
  alerts?: AlertsOptions
}

export { ProcessorConfigError }

export function resolveProcessorConfig(input: ProcessorConfigInput = {}): ProcessorConfig {
  const applicationId = input.applicationId ?? 'agent_event_processor'
  topicName('applicationId', applicationId)
  const inputTopics = topicNames(input.inputTopics)
  for (const name of Object.keys(input.outputTopics ?? {})) {
    if (!Object.hasOwn(OUTPUTS, name)) {
      throw new ProcessorConfigError(`outputTopics.${name}`, name, `one of ${OUTPUT_NAMES.join(', ')}`)
    }
  }
  const outputTopics = Object.fromEntries(
    OUTPUT_NAMES.map((name) => [name, input.outputTopics?.[name] ?? OUTPUTS[name].topic]),
  ) as Record<OutputName, string>
  for (const [setting, topic] of [
    ...Object.entries(inputTopics).map(([f, t]) => [`inputTopics.${f}`, t]),
    ...Object.entries(outputTopics).map(([o, t]) => [`outputTopics.${o}`, t]),
  ])
    topicName(setting as string, topic as string)
  const dedupHorizonMs = wholeMs('dedupHorizonMs', input.dedupHorizonMs ?? 3_600_000)
  const metricsWindowMs = wholeMs('metricsWindowMs', input.metricsWindowMs ?? 60_000)
  const metricsGraceMs = wholeMs('metricsGraceMs', input.metricsGraceMs ?? 30_000, 0)
  const hoppingWindowMs = wholeMs('hoppingWindowMs', input.hoppingWindowMs ?? 3_600_000)
  const hoppingAdvanceMs = wholeMs('hoppingAdvanceMs', input.hoppingAdvanceMs ?? 300_000)
  if (hoppingAdvanceMs > hoppingWindowMs) {
    throw new ProcessorConfigError(
      'hoppingAdvanceMs',
      hoppingAdvanceMs,
      `at most hoppingWindowMs (${hoppingWindowMs}): windows may overlap, not leave gaps`,
    )
  }
  const topN = input.topN ?? 10
  if (!(Number.isInteger(topN) && topN >= 1 && topN <= 1000)) {
    throw new ProcessorConfigError('topN', topN, 'a whole number from 1 to 1000')
  }
  const sessionGapMs = wholeMs('sessionGapMs', input.sessionGapMs ?? 300_000)
  const maxFutureSkewMs = wholeMs('maxFutureSkewMs', input.maxFutureSkewMs ?? 3_600_000)
  // Default: 5 s, or half the grace when that is less.
  const maxEventTimeDriftMs =
    input.maxEventTimeDriftMs === null
      ? null
      : wholeMs(
          'maxEventTimeDriftMs',
          input.maxEventTimeDriftMs ?? Math.min(5000, Math.floor(metricsGraceMs / 2)),
          0,
        )
  if (maxEventTimeDriftMs !== null && maxEventTimeDriftMs > 0 && maxEventTimeDriftMs >= metricsGraceMs) {
    throw new ProcessorConfigError(
      'maxEventTimeDriftMs',
      maxEventTimeDriftMs,
      `less than metricsGraceMs (${metricsGraceMs}), or null to turn the alignment off: ` +
        'instances that far apart in event time drop records as late',
    )
  }
  return {
    applicationId,
    inputTopics,
    outputTopics,
    dedupHorizonMs,
    metricsWindowMs,
    metricsGraceMs,
    hoppingWindowMs,
    hoppingAdvanceMs,
    topN,
    sessionGapMs,
    maxFutureSkewMs,
    maxEventTimeDriftMs,
    performance: resolvePerformanceOptions(input.performance),
    alerts: resolveAlertsOptions(input.alerts),
  }
}

/** The topology settings of PROCESSOR_CONFIG (a JSON object of ProcessorConfigInput), or the defaults. */
export function loadProcessorConfig(file: string | undefined): ProcessorConfig {
  if (file === undefined) return resolveProcessorConfig()
  let input: unknown
  try {
    input = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new ProcessorConfigError(
      'PROCESSOR_CONFIG',
      file,
      `a readable JSON file (${(error as Error).message})`,
    )
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ProcessorConfigError('PROCESSOR_CONFIG', file, 'a file holding one JSON object')
  }
  // A misspelt setting would silently keep its default: refuse what the topology does not know.
  const known = new Set(Object.keys(resolveProcessorConfig()))
  for (const key of Object.keys(input)) {
    if (!known.has(key)) {
      throw new ProcessorConfigError(`${file}: ${key}`, key, `one of ${[...known].sort().join(', ')}`)
    }
  }
  try {
    return resolveProcessorConfig(input as ProcessorConfigInput)
  } catch (error) {
    if (error instanceof ProcessorConfigError) error.message = `${file}: ${error.message}`
    throw error
  }
}
