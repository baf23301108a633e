// Deliberately naive references for the business metrics: plain loops over the distinct events in
// arrival order, no DSL and no code shared with processors/. A record counts in every window covering
// it (tumbling or hopping), except the windows already closed when it arrives: a window [start, end)
// is closed once end + grace is at or before the largest timestamp the aggregate has seen (its stream
// time, this record's included), Kafka Streams' rule, decided window by window.
import type { GeneratedRecord } from '../../schemas/index.js'

export interface Windowing {
  readonly sizeMs: number
  readonly advanceMs: number
  readonly graceMs: number
}

/** An item of a metric: what it is counted under, when, and what it adds. */
export interface Item<T> {
  readonly key: string
  readonly time: number
  readonly value: T
}

export interface WindowedReference<A> {
  /** By `<key>@<window start>`. */
  readonly values: Map<string, A>
  /** Items no window took. */
  readonly late: number
  /** Items some closed windows missed while open ones took them (hopping windows only). */
  readonly partlyLate: number
}

/** The starts of the windows holding `time`, found by walking back from the last one. */
export function windowStarts(time: number, w: Windowing): number[] {
  const starts: number[] = []
  for (let start = time - (time % w.advanceMs); start > time - w.sizeMs && start >= 0; start -= w.advanceMs)
    starts.unshift(start)
  return starts
}

export function windowedFold<T, A>(
  items: readonly Item<T>[],
  w: Windowing,
  initial: () => A,
  add: (aggregate: A, value: T) => A,
): WindowedReference<A> {
  const values = new Map<string, A>()
  let streamTime = Number.NEGATIVE_INFINITY
  let late = 0
  let partlyLate = 0
  for (const item of items) {
    if (item.time > streamTime) streamTime = item.time
    let taken = 0
    let missed = 0
    for (const start of windowStarts(item.time, w)) {
      if (start + w.sizeMs + w.graceMs <= streamTime) {
        missed++
        continue
      }
      taken++
      const id = `${item.key}@${start}`
      values.set(id, add(values.has(id) ? (values.get(id) as A) : initial(), item.value))
    }
    if (taken === 0) late++
    else if (missed > 0) partlyLate++
  }
  return { values, late, partlyLate }
}

interface AnyEvent {
  event_id: string
  occurred_at: number
  payload: object
  agent_id?: string
  task_id?: string
  team_id?: string
}

const kind = (payload: object) => (Object.keys(payload)[0] ?? '').split('.').pop() ?? ''
const body = (payload: object) => Object.values(payload)[0] as Record<string, unknown>
const OUTCOME = new Set(['TaskCompleted', 'TaskFailed', 'TaskCancelled'])

/** The items of every business metric, read off the records by hand. */
export interface BusinessItems {
  /** Per AgentCreated: `<template>@<version>`. */
  instantiations: Item<null>[]
  /** Per TeamFormed (value null) or TeamFormationFailed (value: its reason), under `all`. */
  formations: Item<string | null>[]
  /** Per task, its first outcome (COMPLETED, FAILED, CANCELLED) under the priority then known. */
  taskOutcomes: Item<string>[]
  /** Per agent of a first outcome that used tokens. */
  tokensByAgent: Item<number>[]
  /** Per first outcome that used tokens, under the team then known. */
  tokensByTeam: Item<number>[]
  /** Per agent of a first outcome that used tokens, under the agent's template then known. */
  tokensByTemplate: Item<number>[]
}

export function businessItems(records: readonly GeneratedRecord[]): BusinessItems {
  const items: BusinessItems = {
    instantiations: [],
    formations: [],
    taskOutcomes: [],
    tokensByAgent: [],
    tokensByTeam: [],
    tokensByTemplate: [],
  }
  const seen = new Set<string>()
  const template = new Map<string, string>()
  const priority = new Map<string, string>()
  const team = new Map<string, string>()
  const decided = new Set<string>()
  for (const r of records) {
    const e = r.event as unknown as AnyEvent
    if (seen.has(e.event_id)) continue
    seen.add(e.event_id)
    const k = kind(e.payload)
    const p = body(e.payload)
    const time = e.occurred_at
    if (r.family === 'agent_events' && k === 'AgentCreated') {
      template.set(e.agent_id as string, p.template_id as string)
      items.instantiations.push({ key: `${p.template_id}@${p.version}`, time, value: null })
    }
    if (r.family === 'team_events' && k === 'TeamFormed')
      items.formations.push({ key: 'all', time, value: null })
    if (r.family === 'team_events' && k === 'TeamFormationFailed')
      items.formations.push({ key: 'all', time, value: p.reason as string })
    if (r.family !== 'task_events') continue
    const task = e.task_id as string
    if (k === 'TaskCreated') priority.set(task, p.priority as string)
    if (k === 'TaskAssigned' || k === 'TaskStarted') team.set(task, p.team_id as string)
    if (!OUTCOME.has(k) || decided.has(task)) continue
    decided.add(task)
    const status = k === 'TaskCompleted' ? 'COMPLETED' : k === 'TaskFailed' ? 'FAILED' : 'CANCELLED'
    items.taskOutcomes.push({ key: priority.get(task) ?? 'UNKNOWN', time, value: status })
    const used = (p.tokens_used ?? {}) as Record<string, number>
    let total = 0
    for (const n of Object.values(used)) total += n
    if (total === 0) continue
    for (const [agent, n] of Object.entries(used)) {
      items.tokensByAgent.push({ key: agent, time, value: n })
      items.tokensByTemplate.push({ key: template.get(agent) ?? 'UNKNOWN', time, value: n })
    }
    items.tokensByTeam.push({ key: team.get(task) ?? 'UNKNOWN', time, value: total })
  }
  return items
}

export interface TopEntry {
  agent_id: string
  tokens: number
  rank: number
}

/** Per window start, the `n` agents with most tokens (ties: the smaller id first), from per-agent sums. */
export function topConsumers(perAgent: Map<string, number>, n: number): Map<number, TopEntry[]> {
  const byWindow = new Map<number, { agent: string; tokens: number }[]>()
  for (const [id, tokens] of perAgent) {
    const at = id.lastIndexOf('@')
    const start = Number(id.slice(at + 1))
    const list = byWindow.get(start) ?? []
    list.push({ agent: id.slice(0, at), tokens })
    byWindow.set(start, list)
  }
  const out = new Map<number, TopEntry[]>()
  for (const [start, list] of byWindow) {
    list.sort((a, b) => (b.tokens !== a.tokens ? b.tokens - a.tokens : a.agent < b.agent ? -1 : 1))
    out.set(
      start,
      list.slice(0, n).map((e, i) => ({ agent_id: e.agent, tokens: e.tokens, rank: i + 1 })),
    )
  }
  return out
}

/** A window's team formations as the output has them (formed, failed, success rate, reasons). */
export interface FormationsRef {
  formed: number
  failed: number
  success_rate: number
  failure_reasons: Record<string, number>
}

/** A window's task outcomes as the output has them (counts and rates). */
export interface OutcomesRef {
  completed: number
  failed: number
  cancelled: number
  completion_rate: number
  failure_rate: number
}

/**
 * Every business metric's reference on one windowing, by `<key>@<window start>`: the same folds the
 * driver tests write out, for the run on the broker.
 */
export function businessReference(items: BusinessItems, w: Windowing) {
  const sum = (list: Item<number>[]) =>
    windowedFold(
      list,
      w,
      () => 0,
      (a, n) => a + n,
    )
  return {
    instantiations: windowedFold(
      items.instantiations,
      w,
      () => 0,
      (n) => n + 1,
    ),
    formations: windowedFold<string | null, FormationsRef>(
      items.formations,
      w,
      () => ({ formed: 0, failed: 0, success_rate: 0, failure_reasons: {} }),
      (a, reason) => {
        const next = { ...a, failure_reasons: { ...a.failure_reasons } }
        if (reason === null) next.formed++
        else {
          next.failed++
          next.failure_reasons[reason] = (next.failure_reasons[reason] ?? 0) + 1
        }
        next.success_rate = next.formed / (next.formed + next.failed)
        return next
      },
    ),
    taskOutcomes: windowedFold<string, OutcomesRef>(
      items.taskOutcomes,
      w,
      () => ({ completed: 0, failed: 0, cancelled: 0, completion_rate: 0, failure_rate: 0 }),
      (a, status) => {
        const next = { ...a }
        if (status === 'COMPLETED') next.completed++
        else if (status === 'FAILED') next.failed++
        else next.cancelled++
        const total = next.completed + next.failed + next.cancelled
        next.completion_rate = next.completed / total
        next.failure_rate = next.failed / total
        return next
      },
    ),
    tokensByAgent: sum(items.tokensByAgent),
    tokensByTeam: sum(items.tokensByTeam),
    tokensByTemplate: sum(items.tokensByTemplate),
  }
}
