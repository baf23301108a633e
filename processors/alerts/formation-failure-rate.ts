// Alert: the share of team formations that failed, in a window, above a threshold. Computed here from
// the team events (not from the business metric's output), so the window aggregate can carry whether
// its window has already alerted: each update knows whether it is the one that crossed, and the alert
// goes out once per window, when the rate first goes above the threshold with at least the minimum
// number of formations (so 1 failure out of 1 does not page). Later records of the window are still
// counted; if they bring the rate back under, nothing is retracted (an alert is an event: the window's
// final numbers are in the team formation metric), and a window that crosses again does not alert
// twice. The store has no record cache: a cache could merge the crossing update with a later one.
// Records too late for their window go to the late-record topic, as for every windowed aggregate.
import type { TeamEvent } from '../../schemas/index.js'
import { payloadName } from '../../schemas/payload.js'
import { type KStream, Materialized, Serdes, type TimeWindows } from '../../topology/index.js'
import { type Alert, type AlertsOptions, alertId, resolveAlertsOptions, SEVERITY } from './alert.js'

/** The window aggregate: the counts and whether this window has alerted (`crossed`: on this update). */
export interface FormationWindow {
  formed: number
  failed: number
  alerted: boolean
  crossed: boolean
  /** occurred_at of the last formation counted. */
  last_event_time: number
}

export const FORMATION_RATE_SUBJECT = 'team_formation_failure_rate'

/**
 * Alerts, keyed by alert id, of the windows (of `windows`) whose formation failure rate went above
 * the threshold. Repartitions the formation outcomes to one key through
 * `<applicationId>-alert-formations-repartition`; window store `alert-formations`.
 */
export function formationFailureRateAlerts(
  teamEvents: KStream<string, TeamEvent>,
  windows: TimeWindows,
  options: Pick<AlertsOptions, 'maxFormationFailureRate' | 'minFormations'> = {},
): KStream<string, Alert> {
  const { maxFormationFailureRate: maxRate, minFormations } = resolveAlertsOptions(options)
  const str = Serdes.String()
  return teamEvents
    .filter(
      (_id, e) => {
        const name = e ? payloadName(e.payload) : undefined
        return name === 'TeamFormed' || name === 'TeamFormationFailed'
      },
      { name: 'alert-formations-outcomes' },
    )
    .selectKey(() => 'all', { name: 'alert-formations-key' })
    .groupByKey({ name: 'alert-formations', keySerde: str, valueSerde: Serdes.Json<TeamEvent>() })
    .windowedBy(windows)
    .aggregate<FormationWindow>(
      () => ({ formed: 0, failed: 0, alerted: false, crossed: false, last_event_time: 0 }),
      (_key, e, w) => {
        const next = { ...w, crossed: false, last_event_time: e.occurred_at }
        if (payloadName(e.payload) === 'TeamFormed') next.formed++
        else next.failed++
        const total = next.formed + next.failed
        if (!w.alerted && total >= minFormations && next.failed / total > maxRate) {
          next.alerted = true
          next.crossed = true
        }
        return next
      },
      Materialized.as<string, FormationWindow>('alert-formations')
        .withValueSerde(Serdes.Json<FormationWindow>())
        .withCachingDisabled(),
    )
    .toStream({ name: 'alert-formations-updates' })
    .filter((_key, w) => w?.crossed === true, { name: 'alert-formations-crossed' })
    .map(
      (windowed, w) => {
        const { formed, failed, last_event_time } = w as FormationWindow
        const { start, end } = windowed.window
        const rate = failed / (formed + failed)
        const alert: Alert = {
          alert_id: alertId('FORMATION_FAILURE_RATE', FORMATION_RATE_SUBJECT, start),
          type: 'FORMATION_FAILURE_RATE',
          severity: SEVERITY.FORMATION_FAILURE_RATE,
          subject_type: 'METRIC',
          subject: FORMATION_RATE_SUBJECT,
          observed: rate,
          threshold: maxRate,
          window_start: start,
          window_end: end,
          event_time: last_event_time,
          message:
            `team formation failure rate ${(rate * 100).toFixed(1)}% (${failed} of ${formed + failed}) ` +
            `above ${(maxRate * 100).toFixed(1)}% in the window from ${new Date(start).toISOString()}`,
          details: {
            formed: String(formed),
            failed: String(failed),
            min_formations: String(minFormations),
          },
        }
        return [alert.alert_id, alert] as const
      },
      { name: 'alert-formations-alert' },
    )
}
