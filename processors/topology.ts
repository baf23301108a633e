// The Agent Party topology, built only with the engine's public DSL: the four event topics without
// their duplicates; the entity tables (agents with their current team, teams, tasks) and the
// data-quality findings of their folds; the business metrics on tumbling and hopping windows with a
// running top-N; the performance metrics; utilization and activity sessions; the joins (team
// attribution, idle agents per capability at formation requests); and the alerts. Each concern lives in
// its own module; this file only connects them to the configured topics and serdes.
import {
  type AgentEvent,
  type EventFamily,
  eventFamilies,
  type SystemEvent,
  type TaskEvent,
  type TeamEvent,
} from '../schemas/index.js'
import {
  type KStream,
  type Serde,
  Serdes,
  type StreamRecord,
  StreamsBuilder,
  TimeWindows,
  type Topology,
} from '../topology/index.js'
import { agentPartyAlerts } from './alerts/alerts.js'
import type { ProcessorConfig } from './config.js'
import { dataQualityOutput, type OnDataQuality } from './data-quality.js'
import { dropDuplicates } from './dedup.js'
import { agentEntities } from './entities/agents.js'
import { taskEntities } from './entities/tasks.js'
import { teamEntities } from './entities/teams.js'
import { formationRequestCapacity, idleAgentsByCapability } from './joins/idle-capacity.js'
import { teamTaskAttribution } from './joins/team-attribution.js'
import {
  agentInstantiationRate,
  type MetricWindowing,
  taskOutcomeRates,
  teamFormationRate,
  tokensByAgent,
  tokensByTeam,
  tokensByTemplate,
  topTokenConsumers,
} from './metrics/business.js'
import { componentMetrics, inferenceTime, processingLatency, type TimedEvent } from './metrics/performance.js'
import { agentSessions, agentUtilization } from './metrics/utilization.js'
import type { OutputName } from './outputs.js'
import type { ProcessorSerdes } from './serdes.js'

export type { ProcessorSerdes } from './serdes.js'

export interface ProcessorHooks {
  /** A duplicate event dropped (a metric). */
  onDuplicate?(topic: string, eventId: string): void
  /** An event breaking the platform's rules, written to the data-quality topic (a metric). */
  onDataQuality?: OnDataQuality
}

interface Envelope {
  event_id: string
  occurred_at: number
}

/** The runtime's topics of records too late for a window and of dead letters (its defaults). */
export function runtimeTopics(applicationId: string): { late: string; deadLetter: string } {
  return { late: `${applicationId}-late`, deadLetter: `${applicationId}-dlq` }
}

export function agentPartyTopology(
  config: ProcessorConfig,
  serdes: ProcessorSerdes,
  hooks: ProcessorHooks = {},
): Topology {
  const key = Serdes.String()
  const builder = new StreamsBuilder()
  const topics = config.outputTopics
  const out = <T>(name: OutputName): Serde<T> => serdes.output<T>(name)

  // Each event topic, read once, without the second copies of an event. Event time is occurred_at,
  // whatever timestamp the producer gave the record: every window and stream time follows it. An
  // event from further in the future than maxFutureSkewMs would move every task's stream time ahead
  // and close all open windows: it goes to the dead-letter topic (INVALID_TIMESTAMP, with why).
  const eventTime = (record: StreamRecord<string, Envelope | null>): number => {
    const at = record.value?.occurred_at ?? record.timestamp
    const ahead = at - Date.now()
    if (ahead > config.maxFutureSkewMs) {
      throw new Error(
        `occurred_at ${new Date(at).toISOString()} is ${ahead} ms ahead of this processor's clock (maxFutureSkewMs ${config.maxFutureSkewMs})`,
      )
    }
    return at
  }
  const events = <E extends Envelope>(family: EventFamily, valueSerde: Serde<E>): KStream<string, E> => {
    const topic = config.inputTopics[family]
    const source = builder.stream<string, E>(topic, {
      keySerde: key,
      valueSerde,
      timestampExtractor: eventTime,
    })
    // A null value (a tombstone) on an event topic carries no event: nothing downstream reads it.
    const present = source.filter((_key, event) => event !== null && event !== undefined, {
      name: `${family.replace('_', '-')}-present`,
    })
    // An event without a key sits on whatever partition its producer picked, away from its entity's
    // state: it fails here, so the runtime dead-letters it with the reason (processingExceptionHandler).
    const keyField = eventFamilies[family].keyField
    const keyed = present.peek(
      (k, event) => {
        if (k === null || k === undefined) {
          throw new Error(
            `event ${event.event_id} of ${topic} has no key: ${family} events are keyed by ${keyField}`,
          )
        }
      },
      { name: `${family.replace('_', '-')}-keyed` },
    )
    return dropDuplicates(builder, keyed, {
      name: `${family.replace('_', '-')}-dedup`,
      keySerde: key,
      horizonMs: config.dedupHorizonMs,
      eventId: (e) => e.event_id,
      eventTime: (e) => e.occurred_at,
      onDuplicate: (_key, e) => hooks.onDuplicate?.(topic, e.event_id),
    })
  }
  const agentEvents = events<AgentEvent>('agent_events', serdes.agentEvents)
  const teamEvents = events<TeamEvent>('team_events', serdes.teamEvents)
  const taskEvents = events<TaskEvent>('task_events', serdes.taskEvents)
  const systemEvents = events<SystemEvent>('system_events', serdes.systemEvents)

  // Entity tables: the stores keep JSON (internal), the output topics carry Avro snapshots.
  // Each entity table's output topic is also its store's changelog: an update is written once.
  const teams = teamEntities(teamEvents, { key, snapshot: out('teams'), output: topics.teams })
  const agents = agentEntities(agentEvents, teams.memberships, {
    key,
    snapshot: out('agents'),
    output: topics.agents,
  })
  const tasks = taskEntities(taskEvents, { key, snapshot: out('tasks'), output: topics.tasks })
  const taskSnapshots = tasks.snapshots
  dataQualityOutput([agents.dataQuality, teams.dataQuality, tasks.dataQuality], {
    output: topics.dataQuality,
    keySerde: key,
    valueSerde: out('dataQuality'),
    inputTopics: config.inputTopics,
    ...(hooks.onDataQuality ? { onDataQuality: hooks.onDataQuality } : {}),
  })

  // Business metrics, once per windowing.
  const minute = TimeWindows.ofSizeAndGrace(config.metricsWindowMs, config.metricsGraceMs)
  const hour = TimeWindows.ofSizeAndGrace(config.hoppingWindowMs, config.metricsGraceMs).advanceBy(
    config.hoppingAdvanceMs,
  )
  // Each metric is grouped once (one repartition topic) and aggregated per windowing.
  const windowings = (name: OutputName): MetricWindowing[] => [
    { suffix: '', windows: minute, output: topics[name] },
    { suffix: '-1h', windows: hour, output: topics[`${name}Hourly` as OutputName] },
  ]
  agentInstantiationRate(agentEvents, windowings('agentInstantiations'), out('agentInstantiations'))
  teamFormationRate(teamEvents, windowings('teamFormations'), out('teamFormations'))
  taskOutcomeRates(taskSnapshots, windowings('taskOutcomes'), out('taskOutcomes'))
  const perAgent = tokensByAgent(taskSnapshots, windowings('tokensByAgent'), out('tokensByAgent'))
  tokensByTeam(taskSnapshots, windowings('tokensByTeam'), out('tokensByTeam'))
  tokensByTemplate(taskSnapshots, agents.table, windowings('tokensByTemplate'), out('tokensByTemplate'))
  windowings('topTokenConsumers').forEach((w, i) => {
    const table = perAgent[i]
    if (table !== undefined) topTokenConsumers(table, w, out('topTokenConsumers'), { topN: config.topN })
  })

  // Performance metrics.
  const { inputTopics } = config
  // (KStream is invariant in its value type: each stream is read only as a TimedEvent.)
  const byTopic = {
    [inputTopics.agent_events]: agentEvents,
    [inputTopics.team_events]: teamEvents,
    [inputTopics.task_events]: taskEvents,
    [inputTopics.system_events]: systemEvents,
  } as unknown as Record<string, KStream<string, TimedEvent>>
  processingLatency(byTopic, minute, topics.processingLatency, out('processingLatency'), config.performance)
  inferenceTime(
    teamEvents,
    systemEvents,
    minute,
    topics.inferenceTime,
    out('inferenceTime'),
    config.performance,
  )
  componentMetrics(systemEvents, minute, topics.componentMetrics, out('componentMetrics'), config.performance)

  // Utilization and activity sessions.
  agentUtilization(
    builder,
    agentEvents,
    { windowMs: config.metricsWindowMs, graceMs: config.metricsGraceMs },
    { byAgent: topics.agentUtilization, byTemplate: topics.templateUtilization },
    { byAgent: out('agentUtilization'), byTemplate: out('templateUtilization') },
  )
  agentSessions(
    agentEvents,
    { inactivityGapMs: config.sessionGapMs, graceMs: config.metricsGraceMs },
    topics.agentSessions,
    out('agentSessions'),
  )

  // Joins.
  teamTaskAttribution(
    taskSnapshots,
    teams.table,
    { windowMs: config.metricsWindowMs, graceMs: config.metricsGraceMs },
    { attribution: topics.teamTaskAttribution, outcomes: topics.teamTaskOutcomes },
    { attribution: out('teamTaskAttribution'), outcomes: out('teamTaskOutcomes') },
  )
  const idle = idleAgentsByCapability(
    agents.table,
    topics.idleAgentsByCapability,
    out('idleAgentsByCapability'),
  )
  formationRequestCapacity(
    builder,
    teamEvents,
    idle,
    topics.formationRequestCapacity,
    out('formationRequestCapacity'),
  )

  // Alerts.
  const runtime = runtimeTopics(config.applicationId)
  agentPartyAlerts(
    builder,
    { teamEvents, taskSnapshots, agentEvents, lateTopic: runtime.late, deadLetterTopic: runtime.deadLetter },
    minute,
    config.alerts,
    { topic: topics.alerts, valueSerde: out('alerts') },
  )
  return builder.build()
}
