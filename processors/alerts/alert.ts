// The one value every alert processor writes to the alerts topic (schemas/avro/outputs/alerts.avsc),
// the alert ids, and the checks of the alert settings. An alert id is built only from the alert's cause
// (its type, subject and the event time that starts it: a window start, an assignment, a busy period),
// never from when it was detected, so a replay of the same events produces the same ids and a consumer
// (or a compacted topic keyed by the id) can drop a repeated alert.
import { ProcessorConfigError, positiveInteger, wholeMs } from '../config-error.js'

export type AlertType =
  | 'FORMATION_FAILURE_RATE'
  | 'TASK_NOT_STARTED'
  | 'AGENT_BUSY_TOO_LONG'
  | 'LATE_EVENT_RATE'
  | 'DEAD_LETTER_RATE'

export type AlertSeverity = 'WARNING' | 'CRITICAL'

/** What `subject` names. */
export type AlertSubjectType = 'METRIC' | 'TASK' | 'AGENT' | 'TOPIC'

export interface Alert {
  /** `<type>/<subject>/<cause time>`: the same for the same cause, on a replay too. */
  alert_id: string
  type: AlertType
  severity: AlertSeverity
  subject_type: AlertSubjectType
  /** A task or agent id, a metric name, or the topic whose records are counted. */
  subject: string
  /** What was measured, in the threshold's unit. */
  observed: number
  threshold: number
  /** The window, for the windowed alerts (ms since the epoch, end exclusive); null otherwise. */
  window_start: number | null
  window_end: number | null
  /** Event time at which the alert fired (also the record's timestamp). */
  event_time: number
  message: string
  /** Further facts of the cause (counts, ids, times), as strings. */
  details: Record<string, string>
}

export const SEVERITY: Readonly<Record<AlertType, AlertSeverity>> = {
  FORMATION_FAILURE_RATE: 'CRITICAL',
  TASK_NOT_STARTED: 'WARNING',
  AGENT_BUSY_TOO_LONG: 'WARNING',
  LATE_EVENT_RATE: 'WARNING',
  DEAD_LETTER_RATE: 'CRITICAL',
}

export function alertId(type: AlertType, subject: string, causeTime: number): string {
  return `${type}/${subject}/${causeTime}`
}

/** Every alert setting; each function takes the ones it uses. */
export interface AlertsOptions {
  /** Alert when a window's failed / (formed + failed) team formations is above this. Default 0.2. */
  readonly maxFormationFailureRate?: number
  /** Formations (formed + failed) a window needs before it can alert. Default 10. */
  readonly minFormations?: number
  /** How long an assigned task may wait for TaskStarted (event time). Default 5 min. */
  readonly taskStartTimeoutMs?: number
  /** How long (event time) an agent may stay BUSY. Default 30 min. */
  readonly agentMaxBusyMs?: number
  /** How often (stream time) the pending tasks and busy agents are checked. Default 10 s. */
  readonly checkIntervalMs?: number
  /** Alert when a window's late records, per minute, are above this. Default 100. */
  readonly maxLatePerMinute?: number
  /** Alert when a window's dead letters, per minute, are above this. Default 100. */
  readonly maxDeadLettersPerMinute?: number
  /** The windows (tumbling) late records and dead letters are counted in. Default 1 min. */
  readonly badEventWindowMs?: number
}

export const ALERT_DEFAULTS: Readonly<Required<AlertsOptions>> = Object.freeze({
  maxFormationFailureRate: 0.2,
  minFormations: 10,
  taskStartTimeoutMs: 300_000,
  agentMaxBusyMs: 1_800_000,
  checkIntervalMs: 10_000,
  maxLatePerMinute: 100,
  maxDeadLettersPerMinute: 100,
  badEventWindowMs: 60_000,
})

/** The settings with their defaults; a bad one throws ProcessorConfigError naming `alerts.<setting>`. */
export function resolveAlertsOptions(input: AlertsOptions = {}): Required<AlertsOptions> {
  const d = ALERT_DEFAULTS
  return {
    maxFormationFailureRate: share(
      'alerts.maxFormationFailureRate',
      input.maxFormationFailureRate,
      d.maxFormationFailureRate,
    ),
    minFormations: positiveInteger('alerts.minFormations', input.minFormations ?? d.minFormations),
    taskStartTimeoutMs: wholeMs(
      'alerts.taskStartTimeoutMs',
      input.taskStartTimeoutMs ?? d.taskStartTimeoutMs,
    ),
    agentMaxBusyMs: wholeMs('alerts.agentMaxBusyMs', input.agentMaxBusyMs ?? d.agentMaxBusyMs),
    checkIntervalMs: wholeMs('alerts.checkIntervalMs', input.checkIntervalMs ?? d.checkIntervalMs),
    maxLatePerMinute: positiveNumber('alerts.maxLatePerMinute', input.maxLatePerMinute, d.maxLatePerMinute),
    maxDeadLettersPerMinute: positiveNumber(
      'alerts.maxDeadLettersPerMinute',
      input.maxDeadLettersPerMinute,
      d.maxDeadLettersPerMinute,
    ),
    badEventWindowMs: wholeMs('alerts.badEventWindowMs', input.badEventWindowMs ?? d.badEventWindowMs),
  }
}

function positiveNumber(setting: string, given: number | undefined, fallback: number): number {
  const value = given ?? fallback
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
    throw new ProcessorConfigError(setting, value, 'a positive finite number')
  }
  return value
}

/** A share: 0 <= value < 1 (a rate "above 1" could never fire). */
function share(setting: string, given: number | undefined, fallback: number): number {
  const value = given ?? fallback
  if (!(typeof value === 'number' && value >= 0 && value < 1)) {
    throw new ProcessorConfigError(setting, value, 'a number from 0 (inclusive) to 1 (exclusive)')
  }
  return value
}
