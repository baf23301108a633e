// The alerts of the Agent Party topology, wired in one call: each alert kind is its own part of the
// topology (no merge: a merge would put the sources of all of them in one sub-topology and give the
// punctuators one stream time across topics), each writing its alerts, keyed by alert id, to the one
// alerts topic.
import type { AgentEvent, TeamEvent } from '../../schemas/index.js'
import {
  type KStream,
  type Serde,
  Serdes,
  type StreamsBuilder,
  type TimeWindows,
} from '../../topology/index.js'
import type { TaskSnapshot } from '../entities/tasks.js'
import { agentBusyAlerts } from './agent-busy-too-long.js'
import { type Alert, type AlertsOptions, resolveAlertsOptions } from './alert.js'
import { badEventRateAlerts } from './bad-event-rate.js'
import { formationFailureRateAlerts } from './formation-failure-rate.js'
import { taskNotStartedAlerts } from './task-not-started.js'

export interface AlertInputs {
  /** Team events keyed by team id, duplicates dropped. */
  readonly teamEvents: KStream<string, TeamEvent>
  /** The task table's snapshots keyed by task id. */
  readonly taskSnapshots: KStream<string, TaskSnapshot | null>
  /** Agent events keyed by agent id, duplicates dropped. */
  readonly agentEvents: KStream<string, AgentEvent>
  /** The runtime's late-record and dead-letter topics (`<applicationId>-late`, `<applicationId>-dlq`). */
  readonly lateTopic: string
  readonly deadLetterTopic: string
}

/** Adds every alert to the topology; writes them to `output` (key: the alert id as a UTF-8 string). */
export function agentPartyAlerts(
  builder: StreamsBuilder,
  inputs: AlertInputs,
  windows: TimeWindows,
  input: AlertsOptions,
  output: { readonly topic: string; readonly valueSerde: Serde<Alert> },
): void {
  // All settings checked before anything is added to the builder.
  const options = resolveAlertsOptions(input)
  const to = (stream: KStream<string, Alert>, name: string) =>
    stream.to(output.topic, {
      name: `alert-${name}-sink`,
      keySerde: Serdes.String(),
      valueSerde: output.valueSerde,
    })
  to(formationFailureRateAlerts(inputs.teamEvents, windows, options), 'formations')
  to(taskNotStartedAlerts(builder, inputs.taskSnapshots, options), 'task-not-started')
  to(agentBusyAlerts(builder, inputs.agentEvents, options), 'agent-busy')
  const bad = badEventRateAlerts(
    builder,
    { late: inputs.lateTopic, deadLetter: inputs.deadLetterTopic },
    options,
  )
  to(bad.late, 'late')
  to(bad.deadLetter, 'dead-letter')
}
