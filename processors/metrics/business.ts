// The operations guide's business metrics as windowed aggregates, each computable on any number of
// windowings (the 1-minute tumbling windows and the 1 h / 5 min hopping ones; a record lands in every
// window covering it and is dropped only from the windows already closed): agent instantiations per
// template and version with the rate per minute, team formation outcomes with the success rate and the
// failure reasons, task outcomes per priority with their rates, tokens consumed per agent, team and
// template, and a running top-N of the agents consuming most tokens per window. Keys are re-keyed by
// what is counted, so each goes through a repartition topic; records too late for every window of
// theirs change nothing (the engine counts them).
//
// Stores hold what they held before the windowings (counts, or the small outcome records) so that the
// 1-minute stores, which keep their names, keep reading their changelogs; the output records, with the
// grouping fields and the window, are built on the way out.

import type { AgentCreated, AgentEvent, TeamEvent, TeamFormationFailed } from '../../schemas/index.js'
import { payloadName, payloadOf } from '../../schemas/payload.js'
import {
  type KeyValueStore,
  type KStream,
  type KTable,
  Materialized,
  type Processor,
  type ProcessorContext,
  type Serde,
  Serdes,
  type TimeWindows,
  Windowed,
} from '../../topology/index.js'
import { ProcessorConfigError, positiveInteger, wholeMs } from '../config-error.js'
import type { AgentSnapshot } from '../entities/agents.js'
import type { TaskSnapshot } from '../entities/tasks.js'
import { windowedKey } from '../windowed-key.js'

/** One windowing of a metric: its windows, where it goes, and what tells its state apart. */
export interface MetricWindowing {
  /**
   * Appended to the metric's store and repartition names: '' for the 1-minute tumbling windows (the
   * names the topology had before, so their changelogs stay valid), e.g. '-1h' for the hopping copy.
   * Empty, or '-' then letters, digits, '_' or '-'.
   */
  readonly suffix: string
  readonly windows: TimeWindows
  /** The output topic. */
  readonly output: string
}

/** The store value of the formation counts (kept as it was: the 1-minute changelog holds these). */
export interface FormationOutcomes {
  formed: number
  failed: number
  /** formed / (formed + failed). */
  success_rate: number
  /** Failures by reason. */
  failure_reasons: Record<string, number>
}

/** The store value of the task outcome counts (kept as it was, like FormationOutcomes). */
export interface TaskOutcomes {
  completed: number
  failed: number
  cancelled: number
  completion_rate: number
  failure_rate: number
}

/** What every windowed output value carries: its window, in ms since the epoch, [start, end). */
export interface WindowBounds {
  window_start: number
  window_end: number
}

/** `agent_instantiations`: AgentCreated per template, version and window. */
export interface AgentInstantiationsValue extends WindowBounds {
  template_id: string
  version: number
  count: number
  /** count / the window's length in minutes. */
  per_minute: number
}

/** `team_formations`: formation outcomes per window (all teams). */
export interface TeamFormationsValue extends WindowBounds, FormationOutcomes {}

/** `task_outcomes`: task outcomes per priority and window. */
export interface TaskOutcomesValue extends WindowBounds, TaskOutcomes {
  /** The task's priority, UNKNOWN when no TaskCreated was seen. */
  priority: string
}

/** `tokens_by_agent`. */
export interface TokensByAgentValue extends WindowBounds {
  agent_id: string
  tokens: number
}

/** `tokens_by_team`: the team is the task's, UNKNOWN when no assignment was seen. */
export interface TokensByTeamValue extends WindowBounds {
  team_id: string
  tokens: number
}

/** `tokens_by_template`: the template is the agent's in the agent table, UNKNOWN when it has none. */
export interface TokensByTemplateValue extends WindowBounds {
  template_id: string
  tokens: number
}

export interface TopTokenConsumer {
  agent_id: string
  tokens: number
  /** 1 for the agent with most tokens; ties go to the smaller agent id. */
  rank: number
}

/** `top_token_consumers`: the agents with most tokens in a window, best first. */
export interface TopTokenConsumersValue extends WindowBounds {
  entries: TopTokenConsumer[]
}

const str = Serdes.String()
const SUFFIX = /^(-[A-Za-z0-9_-]{1,60})?$/

function checkWindowing(metric: string, windowing: MetricWindowing): string {
  if (!SUFFIX.test(windowing.suffix)) {
    throw new ProcessorConfigError(
      `${metric}.suffix`,
      windowing.suffix,
      "'' or '-' then 1-60 letters, digits, '_' or '-'",
    )
  }
  return windowing.suffix
}

/** A windowed table's updates as output records (an aggregate never deletes, the null guard is a type's). */
function emit<V, O>(
  table: KTable<Windowed<string>, V>,
  windowing: MetricWindowing,
  valueSerde: Serde<O>,
  toValue: (key: string, value: V, bounds: WindowBounds) => O,
): void {
  table
    .toStream()
    .filter((_key, value) => value !== null)
    .mapValues((value, key) =>
      toValue(key.key, value as V, { window_start: key.window.start, window_end: key.window.end }),
    )
    .to(windowing.output, { keySerde: windowedKey(windowing.windows), valueSerde })
}

// The aggregations. A metric is grouped once, through one repartition topic named after its first
// windowing (the 1-minute one in the topology), and aggregated once per windowing: the hourly copy
// reads the same repartition topic instead of writing every record a second time. What goes through a
// repartition topic is only what the aggregate needs, not the whole event or snapshot.

type Windowings = MetricWindowing | readonly MetricWindowing[]

function all(metric: string, windowing: Windowings): readonly MetricWindowing[] {
  const list = Array.isArray(windowing)
    ? (windowing as readonly MetricWindowing[])
    : [windowing as MetricWindowing]
  if (list.length === 0) throw new ProcessorConfigError(`${metric}.windowings`, [], 'at least one windowing')
  for (const w of list) checkWindowing(metric, w)
  return list
}

function instantiationCounts(
  agentEvents: KStream<string, AgentEvent>,
  windowings: readonly MetricWindowing[],
): KTable<Windowed<string>, number>[] {
  const grouped = agentEvents
    .filter((_id, e) => payloadName(e.payload) === 'AgentCreated')
    .map((_id, e): readonly [string, number] => {
      const created = payloadOf<AgentCreated>(e.payload)
      return [`${created.template_id}@${created.version}`, 1]
    })
    .groupByKey({
      name: `instantiations${windowings[0]?.suffix ?? ''}-by-template`,
      keySerde: str,
      valueSerde: Serdes.Long(),
    })
  return windowings.map((w) =>
    grouped.windowedBy(w.windows).count(Materialized.as<string, number>(`instantiations${w.suffix}`)),
  )
}

/** A formation outcome as the repartition topic carries it: null when formed, else the reason. */
type FormationOutcome = { failed: string | null }

function formationCounts(
  teamEvents: KStream<string, TeamEvent>,
  windowings: readonly MetricWindowing[],
): KTable<Windowed<string>, FormationOutcomes>[] {
  const grouped = teamEvents
    .filter((_id, e) => {
      const name = payloadName(e.payload)
      return name === 'TeamFormed' || name === 'TeamFormationFailed'
    })
    .map((_id, e): readonly [string, FormationOutcome] => [
      'all',
      {
        failed:
          payloadName(e.payload) === 'TeamFormed' ? null : payloadOf<TeamFormationFailed>(e.payload).reason,
      },
    ])
    .groupByKey({
      name: `formations${windowings[0]?.suffix ?? ''}-all`,
      keySerde: str,
      valueSerde: Serdes.Json<FormationOutcome>(),
    })
  return windowings.map((w) =>
    grouped.windowedBy(w.windows).aggregate<FormationOutcomes>(
      () => ({ formed: 0, failed: 0, success_rate: 0, failure_reasons: {} }),
      (_key, outcome, agg) => {
        const next = { ...agg, failure_reasons: { ...agg.failure_reasons } }
        if (outcome.failed === null) next.formed++
        else {
          next.failed++
          next.failure_reasons[outcome.failed] = (next.failure_reasons[outcome.failed] ?? 0) + 1
        }
        next.success_rate = next.formed / (next.formed + next.failed)
        return next
      },
      Materialized.as<string, FormationOutcomes>(`formations${w.suffix}`).withValueSerde(
        Serdes.Json<FormationOutcomes>(),
      ),
    ),
  )
}

const OUTCOMES = new Set(['COMPLETED', 'FAILED', 'CANCELLED'])

function taskOutcomeCounts(
  taskSnapshots: KStream<string, TaskSnapshot | null>,
  windowings: readonly MetricWindowing[],
): KTable<Windowed<string>, TaskOutcomes>[] {
  const grouped = taskSnapshots
    .filter((_id, t) => t?.outcome_event === true && OUTCOMES.has(t.status))
    .map((_id, t): readonly [string, string] => [t?.priority ?? 'UNKNOWN', t?.status ?? 'UNKNOWN'])
    .groupByKey({
      name: `task-outcomes${windowings[0]?.suffix ?? ''}-by-priority`,
      keySerde: str,
      valueSerde: str,
    })
  return windowings.map((w) =>
    grouped.windowedBy(w.windows).aggregate<TaskOutcomes>(
      () => ({ completed: 0, failed: 0, cancelled: 0, completion_rate: 0, failure_rate: 0 }),
      (_priority, status, agg) => {
        const next = { ...agg }
        if (status === 'COMPLETED') next.completed++
        else if (status === 'FAILED') next.failed++
        else next.cancelled++
        const total = next.completed + next.failed + next.cancelled
        next.completion_rate = next.completed / total
        next.failure_rate = next.failed / total
        return next
      },
      Materialized.as<string, TaskOutcomes>(`task-outcomes${w.suffix}`).withValueSerde(
        Serdes.Json<TaskOutcomes>(),
      ),
    ),
  )
}

/** The outcome snapshots that used tokens: each task once, at its outcome's event time. */
function tokenOutcomes(taskSnapshots: KStream<string, TaskSnapshot | null>) {
  return taskSnapshots.filter((_id, t) => t?.outcome_event === true && t.tokens_used > 0)
}

function perAgentTokens(outcomes: KStream<string, TaskSnapshot | null>): KStream<string, number> {
  return outcomes.flatMap((_id, t) =>
    Object.entries(t?.tokens_by_agent ?? {}).map(([agent, n]) => [agent, n] as const),
  )
}

function perTeamTokens(outcomes: KStream<string, TaskSnapshot | null>): KStream<string, number> {
  return outcomes.map((_id, t) => [t?.team_id ?? 'UNKNOWN', t?.tokens_used ?? 0] as const)
}

function tokenSums(
  stream: KStream<string, number>,
  windowings: readonly MetricWindowing[],
  store: string,
): KTable<Windowed<string>, number>[] {
  const grouped = stream.groupByKey({
    name: `${store}${windowings[0]?.suffix ?? ''}-by-key`,
    keySerde: str,
    valueSerde: Serdes.Long(),
  })
  return windowings.map((w) =>
    grouped
      .windowedBy(w.windows)
      .reduce(
        (a, b) => a + b,
        Materialized.as<string, number>(`${store}${w.suffix}`).withValueSerde(Serdes.Long()),
      ),
  )
}

function templateTokenSums(
  taskSnapshots: KStream<string, TaskSnapshot | null>,
  agents: KTable<string, AgentSnapshot>,
  windowings: readonly MetricWindowing[],
): KTable<Windowed<string>, number>[] {
  return tokenSums(
    perAgentTokens(tokenOutcomes(taskSnapshots))
      .leftJoin(agents, (tokens, agent) => ({ template: agent?.template_id ?? 'UNKNOWN', tokens }), {
        name: `tokens-with-agent${windowings[0]?.suffix ?? ''}`,
        keySerde: str,
        valueSerde: Serdes.Long(),
      })
      .map((_agent, v) => [v.template, v.tokens] as const),
    windowings,
    'tokens-per-template',
  )
}

// The windowed metrics: each takes one windowing or several (grouped once, aggregated per windowing).

/**
 * AgentCreated per template and version and window, with the rate per minute. Input: the agent events
 * (any key). Store `instantiations<suffix>` per windowing, repartition
 * `instantiations<first suffix>-by-template`.
 */
export function agentInstantiationRate(
  agentEvents: KStream<string, AgentEvent>,
  windowing: Windowings,
  valueSerde: Serde<AgentInstantiationsValue>,
): void {
  const windowings = all('agentInstantiationRate', windowing)
  instantiationCounts(agentEvents, windowings).forEach((table, i) => {
    const w = windowings[i] as MetricWindowing
    const minutes = w.windows.sizeMs / 60_000
    emit(table, w, valueSerde, (key, count, bounds) => {
      // The key is `<template_id>@<version>` and the version an int, so the last '@' splits it.
      const at = key.lastIndexOf('@')
      return {
        template_id: key.slice(0, at),
        version: Number(key.slice(at + 1)),
        ...bounds,
        count,
        per_minute: count / minutes,
      }
    })
  })
}

/**
 * Formed and failed team formations per window (one key, `all`), with the success rate formed / (formed
 * + failed) and the failures by reason. Input: the team events. Store `formations<suffix>` per
 * windowing, repartition `formations<first suffix>-all`.
 */
export function teamFormationRate(
  teamEvents: KStream<string, TeamEvent>,
  windowing: Windowings,
  valueSerde: Serde<TeamFormationsValue>,
): void {
  const windowings = all('teamFormationRate', windowing)
  formationCounts(teamEvents, windowings).forEach((table, i) => {
    emit(table, windowings[i] as MetricWindowing, valueSerde, (_key, o, w) => ({ ...w, ...o }))
  })
}

/**
 * Task outcomes per priority and window, with the completion and failure rates (of all outcomes). Input:
 * the snapshot after each task event (`taskEntities(...).snapshots`): the snapshot whose event set the
 * outcome is counted once, in the windows of that event's time. Store `task-outcomes<suffix>` per
 * windowing, repartition `task-outcomes<first suffix>-by-priority`.
 */
export function taskOutcomeRates(
  taskSnapshots: KStream<string, TaskSnapshot | null>,
  windowing: Windowings,
  valueSerde: Serde<TaskOutcomesValue>,
): void {
  const windowings = all('taskOutcomeRates', windowing)
  taskOutcomeCounts(taskSnapshots, windowings).forEach((table, i) => {
    emit(table, windowings[i] as MetricWindowing, valueSerde, (priority, o, w) => ({ priority, ...w, ...o }))
  })
}

/**
 * Tokens consumed per agent and window, from the task table's outcome snapshots (the outcome event
 * carries the tokens each agent used). Store `tokens-per-agent<suffix>` per windowing, repartition
 * `tokens-per-agent<first suffix>-by-key`. Returns the windowed table of each windowing, in order (the
 * input of topTokenConsumers).
 */
export function tokensByAgent(
  taskSnapshots: KStream<string, TaskSnapshot | null>,
  windowing: MetricWindowing,
  valueSerde: Serde<TokensByAgentValue>,
): KTable<Windowed<string>, number>
export function tokensByAgent(
  taskSnapshots: KStream<string, TaskSnapshot | null>,
  windowing: readonly MetricWindowing[],
  valueSerde: Serde<TokensByAgentValue>,
): KTable<Windowed<string>, number>[]
export function tokensByAgent(
  taskSnapshots: KStream<string, TaskSnapshot | null>,
  windowing: Windowings,
  valueSerde: Serde<TokensByAgentValue>,
): KTable<Windowed<string>, number> | KTable<Windowed<string>, number>[] {
  const windowings = all('tokensByAgent', windowing)
  const tables = tokenSums(perAgentTokens(tokenOutcomes(taskSnapshots)), windowings, 'tokens-per-agent')
  tables.forEach((table, i) => {
    emit(table, windowings[i] as MetricWindowing, valueSerde, (agent_id, tokens, w) => ({
      agent_id,
      ...w,
      tokens,
    }))
  })
  return Array.isArray(windowing) ? tables : (tables[0] as KTable<Windowed<string>, number>)
}

/**
 * Tokens consumed per team and window (the task's team as the task table knows it at the outcome).
 * Store `tokens-per-team<suffix>` per windowing, repartition `tokens-per-team<first suffix>-by-key`.
 */
export function tokensByTeam(
  taskSnapshots: KStream<string, TaskSnapshot | null>,
  windowing: Windowings,
  valueSerde: Serde<TokensByTeamValue>,
): void {
  const windowings = all('tokensByTeam', windowing)
  tokenSums(perTeamTokens(tokenOutcomes(taskSnapshots)), windowings, 'tokens-per-team').forEach(
    (table, i) => {
      emit(table, windowings[i] as MetricWindowing, valueSerde, (team_id, tokens, w) => ({
        team_id,
        ...w,
        tokens,
      }))
    },
  )
}

/**
 * Tokens consumed per agent template and window: each outcome's tokens per agent, joined with the
 * agent table (keyed by agent id) as it stands when the outcome is processed; an agent the table does
 * not know counts under UNKNOWN. Repartitions `tokens-with-agent<first suffix>` (the join) and
 * `tokens-per-template<first suffix>-by-key`, store `tokens-per-template<suffix>` per windowing.
 */
export function tokensByTemplate(
  taskSnapshots: KStream<string, TaskSnapshot | null>,
  agents: KTable<string, AgentSnapshot>,
  windowing: Windowings,
  valueSerde: Serde<TokensByTemplateValue>,
): void {
  const windowings = all('tokensByTemplate', windowing)
  templateTokenSums(taskSnapshots, agents, windowings).forEach((table, i) => {
    emit(table, windowings[i] as MetricWindowing, valueSerde, (template_id, tokens, w) => ({
      template_id,
      ...w,
      tokens,
    }))
  })
}

export interface TopTokenConsumersOptions {
  /** How many agents each window's list holds. Default 10. */
  readonly topN?: number
  /**
   * How many agents the aggregate keeps per window (at least topN; default 2 × topN): the slack lets
   * the list stay full while agents are between the removal of their old total and the addition of
   * their new one (see TopTokens).
   */
  readonly retain?: number
  /**
   * How long (stream time) a window's list is kept after the window ends: then its row is deleted from
   * the store, so that the store does not grow with every window ever seen. Default 7 days (the
   * output topics' retention); at least the window's grace.
   */
  readonly keepWindowsMs?: number
}

/**
 * Deletes the rows of windows that ended `keepMs` (stream time) ago from a store keyed by window. The
 * deletes reach the store's changelog; the table's downstream sees null values, which emit() drops.
 */
class ExpireWindowRows<V> implements Processor<Windowed<string>, V | null> {
  constructor(
    private readonly storeName: string,
    private readonly keepMs: number,
  ) {}

  init(context: ProcessorContext): void {
    const store = context.getStateStore<KeyValueStore<Windowed<string>, V>>(this.storeName)
    const every = Math.max(60_000, Math.min(3_600_000, Math.floor(this.keepMs / 10)))
    context.schedule(every, 'stream-time', (streamTime) => {
      const expired: Windowed<string>[] = []
      for (const [key] of store.all()) if (key.window.end + this.keepMs <= streamTime) expired.push(key)
      for (const key of expired) store.delete(key)
    })
  }

  process(): void {}
}

/** An agent and its tokens: best first means more tokens, then the smaller agent id. */
type Ranked = [agentId: string, tokens: number]

/**
 * The top-N aggregate of one window. An agent's new total reaches it as two records, through the
 * repartition topic and possibly with other agents' records between them (several tasks write there):
 * the subtraction of its old total, then the addition of its new one. So it keeps more than N agents
 * (`retain`, best first) and a bound on all the others:
 *  - `floor` ranks at or above every agent of the window missing from `top` (null: `top` holds them
 *    all), and below every agent in `top`;
 *  - an addition goes in if it ranks above `floor` (the worst agent falling out beyond `retain` becomes
 *    the floor if it ranks above it); at or below `floor` it stays out (and raises nothing: the floor
 *    already bounds it);
 *  - a subtraction takes the agent out of `top` and leaves `floor` as it is.
 * So `top` is always the best |top| agents of the window (those between their two records aside).
 * Within a window an agent's total only grows, so an agent taken out of `top` comes back above `floor`:
 * once every subtraction has had its addition, `top` holds the best min(retain, agents) again, and
 * meanwhile its first N are exact while at most retain - N retained agents are between their records.
 * Bound: a total that decreases below the floor, or is deleted (which windowed sums never do), loses a
 * slot for good; the first N stay exact while at most retain - N slots are lost, then the list comes
 * out short (never wrong) until agents climb above the floor. Storage: retain + 1 agents per window.
 */
export interface TopTokens {
  top: Ranked[]
  floor: Ranked | null
}

const before = (a: Ranked, b: Ranked) => a[1] > b[1] || (a[1] === b[1] && a[0] < b[0])

function addRanked(state: TopTokens, entry: Ranked, retain: number): TopTokens {
  const top = state.top.filter(([agent]) => agent !== entry[0])
  if (state.floor !== null && !before(entry, state.floor)) return { top, floor: state.floor }
  let at = top.findIndex((e) => before(entry, e))
  if (at < 0) at = top.length
  top.splice(at, 0, entry)
  let floor = state.floor
  while (top.length > retain) {
    const dropped = top.pop() as Ranked
    if (floor === null || before(dropped, floor)) floor = dropped
  }
  return { top, floor }
}

function removeRanked(state: TopTokens, agentId: string): TopTokens {
  return { top: state.top.filter(([agent]) => agent !== agentId), floor: state.floor }
}

/**
 * A running top-N of token consumers per window, from tokensByAgent's windowed table: its rows
 * re-keyed by window (key `all` and the window) through the repartition `top-tokens<suffix>-by-window`
 * and folded into the store `top-tokens<suffix>` by an adder and a subtractor (TopTokens says why the
 * result is exact). Each change of a window's list goes out keyed by the window. The windowing must be
 * the table's (its window size decodes the keys). The store keeps one small row per window, about
 * `retain` agents each, for `keepWindowsMs` after the window ends (a KTable aggregate does not expire
 * by itself: a stream-time punctuator deletes the rows).
 */
export function topTokenConsumers(
  tokensPerAgent: KTable<Windowed<string>, number>,
  windowing: MetricWindowing,
  valueSerde: Serde<TopTokenConsumersValue>,
  options: TopTokenConsumersOptions = {},
): void {
  const suffix = checkWindowing('topTokenConsumers', windowing)
  const topN = positiveInteger('topTokenConsumers.topN', options.topN ?? 10)
  const retain = options.retain ?? 2 * topN
  if (!(Number.isInteger(retain) && retain >= topN)) {
    throw new ProcessorConfigError(
      'topTokenConsumers.retain',
      retain,
      `a whole number of at least topN (${topN})`,
    )
  }
  const keepMs = wholeMs(
    'topTokenConsumers.keepWindowsMs',
    options.keepWindowsMs ?? 7 * 86_400_000,
    Math.max(1, windowing.windows.graceMs),
  )
  const key = windowedKey(windowing.windows)
  const store = `top-tokens${suffix}`
  const table = tokensPerAgent
    .groupBy<Windowed<string>, Ranked>(
      (agent, tokens) => [new Windowed('all', agent.window), [agent.key, tokens]],
      {
        name: `top-tokens${suffix}-by-window`,
        keySerde: key,
        valueSerde: Serdes.Json<Ranked>(),
      },
    )
    .aggregate<TopTokens>(
      () => ({ top: [], floor: null }),
      (_window, entry, state) => addRanked(state, entry, retain),
      (_window, entry, state) => removeRanked(state, entry[0]),
      Materialized.as<Windowed<string>, TopTokens>(store)
        .withKeySerde(key)
        .withValueSerde(Serdes.Json<TopTokens>()),
    )
  table
    .toStream({ name: `${store}-rows` })
    .process(() => new ExpireWindowRows<TopTokens>(store, keepMs), store)
  emit(table, windowing, valueSerde, (_all, state, w) => ({
    ...w,
    entries: state.top.slice(0, topN).map(([agent_id, tokens], i) => ({ agent_id, tokens, rank: i + 1 })),
  }))
}
