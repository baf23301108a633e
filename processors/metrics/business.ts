// The operations guide's business metrics as windowed aggregates (tumbling windows by default; each
// record lands in every window of the configured TimeWindows, so hopping windows work the same):
// agent instantiations per template and version, team formation outcomes with the success rate and
// the failure reasons, and task outcomes per priority. Keys are re-keyed by what is counted, so each
// goes through a repartition topic; records too late for their windows go to the late-record topic.

import type { AgentCreated, AgentEvent, TeamEvent, TeamFormationFailed } from '../../schemas/index.js'
import { payloadName, payloadOf } from '../../schemas/payload.js'
import {
  type KStream,
  type KTable,
  Materialized,
  type Serde,
  Serdes,
  type TimeWindows,
  type Windowed,
  WindowedSerdes,
} from '../../topology/index.js'
import type { AgentSnapshot } from '../entities/agents.js'
import type { TaskSnapshot } from '../entities/tasks.js'

export interface FormationOutcomes {
  formed: number
  failed: number
  /** formed / (formed + failed). */
  success_rate: number
  /** Failures by reason. */
  failure_reasons: Record<string, number>
}

export interface TaskOutcomes {
  completed: number
  failed: number
  cancelled: number
  completion_rate: number
  failure_rate: number
}

export interface MetricOutputs {
  readonly instantiations: string
  readonly formations: string
  readonly taskOutcomes: string
}

const str = Serdes.String()

function windowedKey(windows: TimeWindows): Serde<Windowed<string>> {
  return WindowedSerdes.timeWindowed(str, windows.sizeMs)
}

/** AgentCreated per `<template_id>@<version>` and window. */
export function agentInstantiations(
  agentEvents: KStream<string, AgentEvent>,
  windows: TimeWindows,
  output: string,
): void {
  agentEvents
    .filter((_id, e) => payloadName(e.payload) === 'AgentCreated')
    .selectKey((_id, e) => {
      const created = payloadOf<AgentCreated>(e.payload)
      return `${created.template_id}@${created.version}`
    })
    .groupByKey({ name: 'instantiations-by-template', keySerde: str, valueSerde: Serdes.Json<AgentEvent>() })
    .windowedBy(windows)
    .count(Materialized.as<string, number>('instantiations'))
    .toStream()
    .to(output, { keySerde: windowedKey(windows), valueSerde: Serdes.Long() })
}

/** Formed and failed team formations per window (one key, `all`), with the rate and the reasons. */
export function formationOutcomes(
  teamEvents: KStream<string, TeamEvent>,
  windows: TimeWindows,
  output: string,
): void {
  const json = Serdes.Json<FormationOutcomes>()
  teamEvents
    .filter((_id, e) => {
      const name = payloadName(e.payload)
      return name === 'TeamFormed' || name === 'TeamFormationFailed'
    })
    .selectKey(() => 'all')
    .groupByKey({ name: 'formations-all', keySerde: str, valueSerde: Serdes.Json<TeamEvent>() })
    .windowedBy(windows)
    .aggregate<FormationOutcomes>(
      () => ({ formed: 0, failed: 0, success_rate: 0, failure_reasons: {} }),
      (_key, e, agg) => {
        const next = { ...agg, failure_reasons: { ...agg.failure_reasons } }
        if (payloadName(e.payload) === 'TeamFormed') next.formed++
        else {
          next.failed++
          const reason = payloadOf<TeamFormationFailed>(e.payload).reason
          next.failure_reasons[reason] = (next.failure_reasons[reason] ?? 0) + 1
        }
        next.success_rate = next.formed / (next.formed + next.failed)
        return next
      },
      Materialized.as<string, FormationOutcomes>('formations').withValueSerde(json),
    )
    .toStream()
    .to(output, { keySerde: windowedKey(windows), valueSerde: json })
}

const OUTCOMES = new Set(['COMPLETED', 'FAILED', 'CANCELLED'])

/**
 * Task outcomes per priority and window, from the task table's snapshots: the snapshot whose event set
 * the outcome is counted once, in the windows of that event's time.
 */
export function taskOutcomes(
  taskSnapshots: KStream<string, TaskSnapshot | null>,
  windows: TimeWindows,
  output: string,
): void {
  const json = Serdes.Json<TaskOutcomes>()
  taskSnapshots
    .filter((_id, t) => t?.outcome_event === true && OUTCOMES.has(t.status))
    .selectKey<string>((_id, t) => t?.priority ?? 'UNKNOWN')
    .groupByKey({
      name: 'task-outcomes-by-priority',
      keySerde: str,
      valueSerde: Serdes.Json<TaskSnapshot | null>(),
    })
    .windowedBy(windows)
    .aggregate<TaskOutcomes>(
      () => ({ completed: 0, failed: 0, cancelled: 0, completion_rate: 0, failure_rate: 0 }),
      (_priority, t, agg) => {
        const next = { ...agg }
        if (t?.status === 'COMPLETED') next.completed++
        else if (t?.status === 'FAILED') next.failed++
        else next.cancelled++
        const total = next.completed + next.failed + next.cancelled
        next.completion_rate = next.completed / total
        next.failure_rate = next.failed / total
        return next
      },
      Materialized.as<string, TaskOutcomes>('task-outcomes').withValueSerde(json),
    )
    .toStream()
    .to(output, { keySerde: windowedKey(windows), valueSerde: json })
}

/**
 * Tokens consumed per agent and per team and window, from the task table's outcome snapshots (the
 * outcome events carry the tokens each agent used; the snapshot knows the team): each task counted
 * once, at its outcome's event time.
 */
export function tokenConsumption(
  taskSnapshots: KStream<string, TaskSnapshot | null>,
  windows: TimeWindows,
  outputs: { readonly byAgent: string; readonly byTeam: string },
): void {
  const outcomes = taskSnapshots.filter((_id, t) => t?.outcome_event === true && t.tokens_used > 0)
  const sumPer = (stream: KStream<string, number>, name: string, output: string) =>
    stream
      .groupByKey({ name: `${name}-by-key`, keySerde: str, valueSerde: Serdes.Long() })
      .windowedBy(windows)
      .reduce((a, b) => a + b, Materialized.as<string, number>(name).withValueSerde(Serdes.Long()))
      .toStream()
      .to(output, { keySerde: windowedKey(windows), valueSerde: Serdes.Long() })
  sumPer(
    outcomes.flatMap((_id, t) =>
      Object.entries(t?.tokens_by_agent ?? {}).map(([agent, n]) => [agent, n] as const),
    ),
    'tokens-per-agent',
    outputs.byAgent,
  )
  sumPer(
    outcomes.map((_id, t) => [t?.team_id ?? 'UNKNOWN', t?.tokens_used ?? 0] as const),
    'tokens-per-team',
    outputs.byTeam,
  )
}

/**
 * Tokens consumed per agent template and window: each outcome's tokens per agent, joined with the
 * agent table for the agent's template (as the table stands when the outcome is processed; an agent
 * the table does not know counts under UNKNOWN).
 */
export function tokensPerTemplate(
  taskSnapshots: KStream<string, TaskSnapshot | null>,
  agents: KTable<string, AgentSnapshot>,
  windows: TimeWindows,
  output: string,
): void {
  taskSnapshots
    .filter((_id, t) => t?.outcome_event === true && t.tokens_used > 0)
    .flatMap((_id, t) => Object.entries(t?.tokens_by_agent ?? {}).map(([agent, n]) => [agent, n] as const))
    .leftJoin(agents, (tokens, agent) => ({ template: agent?.template_id ?? 'UNKNOWN', tokens }), {
      name: 'tokens-with-agent',
      keySerde: str,
      valueSerde: Serdes.Long(),
    })
    .map((_agent, v) => [v.template, v.tokens] as const)
    .groupByKey({ name: 'tokens-per-template-by-key', keySerde: str, valueSerde: Serdes.Long() })
    .windowedBy(windows)
    .reduce(
      (a, b) => a + b,
      Materialized.as<string, number>('tokens-per-template').withValueSerde(Serdes.Long()),
    )
    .toStream()
    .to(output, { keySerde: windowedKey(windows), valueSerde: Serdes.Long() })
}
