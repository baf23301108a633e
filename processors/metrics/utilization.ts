// Agent utilization and activity sessions, from the deduplicated agent events (keyed by agent id).
//
// Busy time. A custom processor keeps, per agent (store `util-busy-agents`), its status, the event time
// of the last status change applied (`changed_at`), how far its time is accounted (`accounted_to`) and
// its template (from AgentCreated). It emits "busy pieces": [from, to) intervals the agent was BUSY,
// split at the window boundaries, each keyed by agent id and stamped with its start, so that a windowed
// sum puts each piece's milliseconds in its window. The rules, in the processor's event time (the
// largest occurred_at it has seen; the last settled boundary is kept in store `util-busy-clock`):
//  - Settled time. A window boundary B is settled once event time reaches B + grace (the grace of the
//    metrics windows). Before the record that settles it is applied, every BUSY agent's open interval
//    is cut at B (pieces up to B, window by window), and no agent's time before a settled boundary is
//    ever accounted again. So an agent busy for an hour gets its busy time in each window as the
//    windows pass, not in one burst at the end that the closed windows would drop.
//  - A status change at t ≥ the agent's changed_at is applied at max(t, accounted_to, settled): the
//    busy interval it ends (if the agent was BUSY) is emitted, and the new status holds from there.
//    An out-of-order change older than the settled time is thus applied at the settled time (the
//    closed windows are not reopened), which keeps the agent's status right from then on.
//  - A status change at t < changed_at (a newer change is already applied) is stale and ignored: no
//    interval can be negative or counted twice.
//  - AgentTerminated ends the agent, whatever its time: the busy interval (if any) ends at
//    max(t, accounted_to, settled) and the agent stays TERMINATED; later status changes are ignored
//    (the entry stays in the store, as the agent table keeps terminated agents).
//  - AgentCreated records the template (pieces emitted before it count under template UNKNOWN); when
//    it is the agent's first event the agent starts IDLE at max(t, settled). An agent first seen by a
//    status change starts in that status.
//  - An agent's busy time after the last settled boundary is only emitted when its interval ends or
//    the boundary settles: a window's busy time is complete once event time passes its end + grace.
// With pieces emitted in this order, none is ever too late for its window at the windowed sums (each
// piece's window end + grace is beyond every piece timestamp emitted before it), given one input
// partition's order; through the template repartition topic with several partitions, a piece can
// still be late when another partition's event time runs ahead, as for any repartitioned aggregate.
//
// Activity sessions: session windows over all of an agent's events (inactivity gap, 5 min by default,
// and the metrics grace), emitted on update, Kafka Streams' semantics: a record bridging sessions
// merges them, and each merged-away session is deleted downstream with a tombstone on its key.
import type { AgentCreated, AgentEvent, AgentStatusChanged } from '../../schemas/index.js'
import { payloadName, payloadOf } from '../../schemas/payload.js'
import {
  type KeyValue,
  type KeyValueStore,
  type KStream,
  Materialized,
  type Processor,
  type ProcessorContext,
  type Serde,
  Serdes,
  SessionWindows,
  Stores,
  StreamRecord,
  type StreamsBuilder,
  TimeWindows,
  type Windowed,
  WindowedSerdes,
} from '../../topology/index.js'
import { wholeMs } from '../config-error.js'
import { windowedKey } from '../windowed-key.js'

/** Busy time of one agent in one window (topic agent_party.agent_utilization). */
export interface AgentUtilization {
  agent_id: string
  /** The agent's template as of its last busy piece; null until its AgentCreated is seen. */
  template_id: string | null
  window_start: number
  window_end: number
  /** Milliseconds of the window the agent was BUSY. */
  busy_ms: number
  /** busy_ms / window size, 0..1. */
  utilization: number
}

/** Busy time of all agents of a template in one window (topic agent_party.template_utilization). */
export interface TemplateUtilization {
  /** UNKNOWN for agents whose AgentCreated was not seen. */
  template_id: string
  window_start: number
  window_end: number
  /** Milliseconds the template's agents were BUSY, summed over the agents. */
  busy_ms: number
  /** busy_ms / window size: the average number of the template's agents that were busy. */
  utilization: number
}

/** One activity session of an agent (topic agent_party.agent_sessions). */
export interface AgentSession {
  agent_id: string
  /** The session window: the first and last record timestamps of the session, both inclusive. */
  window_start: number
  window_end: number
  /** Events in the session (duplicates excluded). */
  events: number
  /** Smallest and largest occurred_at of the session's events. */
  first_event_at: number
  last_event_at: number
  /** AgentStatusChanged events in the session. */
  status_changes: number
}

/** A BUSY interval inside one window, the processor's output (internal). */
export interface BusyPiece {
  agent_id: string
  template_id: string | null
  /** Start of the interval (also the record timestamp) and its length. */
  from: number
  busy_ms: number
}

export interface UtilizationOptions {
  /** Tumbling window size; default 60 000 (the metrics window). */
  readonly windowMs?: number
  /** Grace of the windows, and when a boundary settles; default 30 000 (the metrics grace). */
  readonly graceMs?: number
}

export interface SessionOptions {
  /** Inactivity gap that ends a session; default 300 000 (5 min). */
  readonly inactivityGapMs?: number
  /** Grace of the session windows; default 30 000 (the metrics grace). */
  readonly graceMs?: number
}

/** The names this module gives its stores, processors and repartition topics (all `util-`). */
export const UTILIZATION_STORES = {
  agents: 'util-busy-agents',
  clock: 'util-busy-clock',
  agentBusy: 'util-agent-busy',
  templateBusy: 'util-template-busy',
  sessions: 'util-agent-sessions',
} as const

type BusyStatus = 'IDLE' | 'BUSY' | 'OFFLINE' | 'UNKNOWN' | 'TERMINATED'

/** What the processor keeps per agent. */
interface BusyState {
  status: BusyStatus
  changed_at: number
  accounted_to: number
  template_id: string | null
}

const str = Serdes.String()
const SETTLED = 'settled'

export function resolveUtilizationOptions(options: UtilizationOptions = {}): Required<UtilizationOptions> {
  return {
    windowMs: wholeMs('utilization.windowMs', options.windowMs ?? 60_000, 1),
    graceMs: wholeMs('utilization.graceMs', options.graceMs ?? 30_000, 0),
  }
}

export function resolveSessionOptions(options: SessionOptions = {}): Required<SessionOptions> {
  return {
    inactivityGapMs: wholeMs('sessions.inactivityGapMs', options.inactivityGapMs ?? 300_000, 1),
    graceMs: wholeMs('sessions.graceMs', options.graceMs ?? 30_000, 0),
  }
}

class BusyIntervalProcessor implements Processor<string, AgentEvent, string, BusyPiece> {
  #context!: ProcessorContext<string, BusyPiece>
  #agents!: KeyValueStore<string, BusyState>
  #clock!: KeyValueStore<string, number>
  #streamTime = Number.NEGATIVE_INFINITY
  // The largest settled boundary (a multiple of the window size), -Infinity before the first record.
  #settled = Number.NEGATIVE_INFINITY

  constructor(private readonly options: Required<UtilizationOptions>) {}

  init(context: ProcessorContext<string, BusyPiece>): void {
    this.#context = context
    this.#agents = context.getStateStore<KeyValueStore<string, BusyState>>(UTILIZATION_STORES.agents)
    this.#clock = context.getStateStore<KeyValueStore<string, number>>(UTILIZATION_STORES.clock)
    // Restarted: the settled boundary is what the rules need; event time restarts from the next record.
    const settled = this.#clock.get(SETTLED)
    if (settled !== undefined) this.#settled = settled
  }

  #settledAt(streamTime: number): number {
    const { windowMs, graceMs } = this.options
    return Math.floor((streamTime - graceMs) / windowMs) * windowMs
  }

  process(record: StreamRecord<string, AgentEvent>): void {
    const event = record.value
    if (event === null || event === undefined) return
    const agentId = record.key ?? event.agent_id
    const t = event.occurred_at
    if (t > this.#streamTime) {
      this.#streamTime = t
      const settled = this.#settledAt(t)
      if (settled > this.#settled) {
        this.#settle(settled)
        this.#settled = settled
        this.#clock.put(SETTLED, settled)
      }
    }
    const state = this.#agents.get(agentId)
    switch (payloadName(event.payload)) {
      case 'AgentCreated': {
        const template = payloadOf<AgentCreated>(event.payload).template_id
        if (state === undefined) {
          const at = Math.max(t, this.#settled)
          this.#agents.put(agentId, {
            status: 'IDLE',
            changed_at: t,
            accounted_to: at,
            template_id: template,
          })
        } else if (state.template_id !== template) {
          this.#agents.put(agentId, { ...state, template_id: template })
        }
        break
      }
      case 'AgentStatusChanged': {
        const status = payloadOf<AgentStatusChanged>(event.payload).status
        if (state === undefined) {
          const at = Math.max(t, this.#settled)
          this.#agents.put(agentId, { status, changed_at: t, accounted_to: at, template_id: null })
          break
        }
        if (state.status === 'TERMINATED' || t < state.changed_at) break
        const at = this.#end(agentId, state, t)
        this.#agents.put(agentId, { ...state, status, changed_at: t, accounted_to: at })
        break
      }
      case 'AgentTerminated': {
        if (state === undefined) {
          const at = Math.max(t, this.#settled)
          this.#agents.put(agentId, {
            status: 'TERMINATED',
            changed_at: t,
            accounted_to: at,
            template_id: null,
          })
          break
        }
        if (state.status === 'TERMINATED') break
        const at = this.#end(agentId, state, t)
        this.#agents.put(agentId, {
          ...state,
          status: 'TERMINATED',
          changed_at: Math.max(t, state.changed_at),
          accounted_to: at,
        })
        break
      }
    }
  }

  /** Ends the agent's current status at t (or the accounted time): emits its busy pieces; returns the end. */
  #end(agentId: string, state: BusyState, t: number): number {
    const from = Math.max(state.accounted_to, this.#settled)
    const to = Math.max(t, from)
    if (state.status === 'BUSY') this.#emit(agentId, state.template_id, from, to)
    return to
  }

  #emit(agentId: string, template: string | null, from: number, to: number): void {
    const size = this.options.windowMs
    for (let start = from; start < to; ) {
      const end = Math.min(to, Math.floor(start / size) * size + size)
      this.#context.forward(
        new StreamRecord(
          agentId,
          { agent_id: agentId, template_id: template, from: start, busy_ms: end - start },
          start,
        ),
      )
      start = end
    }
  }

  // Cuts every BUSY agent's interval at the boundaries up to `settled`, window by window (all agents'
  // pieces of one window before any of the next), so that no piece is late for its window.
  #settle(settled: number): void {
    const busy: [string, BusyState][] = []
    for (const [agentId, state] of this.#agents.all()) {
      if (state.status === 'BUSY' && state.accounted_to < settled) busy.push([agentId, state])
    }
    if (busy.length === 0) return
    const size = this.options.windowMs
    let first = settled
    for (const [, state] of busy) first = Math.min(first, Math.floor(state.accounted_to / size) * size)
    for (let start = first; start < settled; start += size) {
      for (const [agentId, state] of busy) {
        const from = Math.max(start, state.accounted_to)
        if (from < start + size) this.#emit(agentId, state.template_id, from, start + size)
      }
    }
    for (const [agentId, state] of busy) this.#agents.put(agentId, { ...state, accounted_to: settled })
  }
}

/** An agent's busy time in a window, and its template as its latest piece gave it. */
interface BusySum {
  busy_ms: number
  template_id: string | null
}

const noBusyTime = (): BusySum => ({ busy_ms: 0, template_id: null })

/** Adds a piece, or a fold of pieces, to a sum; the later one's template wins unless it has none. */
function addBusyTime(_agent: string, piece: BusySum, sum: BusySum): BusySum {
  return { busy_ms: sum.busy_ms + piece.busy_ms, template_id: piece.template_id ?? sum.template_id }
}

/**
 * Busy time per agent and per template and tumbling window. Adds the stores `util-busy-agents` and
 * `util-busy-clock`; the pieces, folded per task until it commits, go through the repartition topics
 * `util-busy-sums-by-agent` (the custom processor's output counts as re-keyed, though it keeps the
 * agent id) and `util-busy-by-template`;
 * the windowed sums are the stores `util-agent-busy` and `util-template-busy`. Output keys are
 * time-windowed strings (agent id, template id), values carry the same as fields.
 */
export function agentUtilization(
  builder: StreamsBuilder,
  agentEvents: KStream<string, AgentEvent>,
  options: UtilizationOptions,
  outputs: { readonly byAgent: string; readonly byTemplate: string },
  serdes: { readonly byAgent: Serde<AgentUtilization>; readonly byTemplate: Serde<TemplateUtilization> },
): {
  byAgent: KStream<Windowed<string>, AgentUtilization | null>
  byTemplate: KStream<Windowed<string>, TemplateUtilization | null>
} {
  const resolved = resolveUtilizationOptions(options)
  const { windowMs, graceMs } = resolved
  const windows = TimeWindows.ofSizeAndGrace(windowMs, graceMs)
  builder.addStateStore(
    Stores.keyValueStoreBuilder(
      UTILIZATION_STORES.agents,
      str,
      Serdes.Json<BusyState>(),
    ).withCachingEnabled(),
  )
  builder.addStateStore(
    Stores.keyValueStoreBuilder(UTILIZATION_STORES.clock, str, Serdes.Long()).withCachingDisabled(),
  )
  const sumSerde = Serdes.Json<BusySum>()
  const pieces = agentEvents.process<string, BusyPiece>(
    () => new BusyIntervalProcessor(resolved),
    UTILIZATION_STORES.agents,
    UTILIZATION_STORES.clock,
  )
  // Each task folds the pieces per agent (and per template) and window until it commits: one record
  // per key, window and commit goes through each repartition topic instead of one per piece.
  const byAgent = pieces
    .combine(noBusyTime, addBusyTime, { name: 'util-busy-agent-fold', sliceMs: windowMs })
    .groupByKey({ name: 'util-busy-sums-by-agent', keySerde: str, valueSerde: sumSerde })
    .windowedBy(windows)
    .aggregate<BusySum>(
      noBusyTime,
      addBusyTime,
      Materialized.as<string, BusySum>(UTILIZATION_STORES.agentBusy)
        .withKeySerde(str)
        .withValueSerde(sumSerde),
    )
    .toStream({ name: 'util-agent-busy-stream' })
    .mapValues<AgentUtilization | null>(
      (sum, key) =>
        sum === null
          ? null
          : {
              agent_id: key.key,
              template_id: sum.template_id,
              window_start: key.window.start,
              window_end: key.window.end,
              busy_ms: sum.busy_ms,
              utilization: sum.busy_ms / windowMs,
            },
      { name: 'util-agent-utilization' },
    )
  byAgent.to(outputs.byAgent, { keySerde: windowedKey(windowMs), valueSerde: serdes.byAgent })
  // Only the milliseconds travel through the repartition topic (the piece's timestamp places it).
  const byTemplate = pieces
    .map((_agent, piece): KeyValue<string, number> => [piece.template_id ?? 'UNKNOWN', piece.busy_ms], {
      name: 'util-template-key',
    })
    .combine(
      () => 0,
      (_template, busyMs, sum) => sum + busyMs,
      {
        name: 'util-busy-template-fold',
        sliceMs: windowMs,
      },
    )
    .groupByKey({ name: 'util-busy-by-template', keySerde: str, valueSerde: Serdes.Long() })
    .windowedBy(windows)
    .aggregate<number>(
      () => 0,
      (_template, busyMs, sum) => sum + busyMs,
      Materialized.as<string, number>(UTILIZATION_STORES.templateBusy)
        .withKeySerde(str)
        .withValueSerde(Serdes.Long()),
    )
    .toStream({ name: 'util-template-busy-stream' })
    .mapValues<TemplateUtilization | null>(
      (sum, key) =>
        sum === null
          ? null
          : {
              template_id: key.key,
              window_start: key.window.start,
              window_end: key.window.end,
              busy_ms: sum,
              utilization: sum / windowMs,
            },
      { name: 'util-template-utilization' },
    )
  byTemplate.to(outputs.byTemplate, { keySerde: windowedKey(windowMs), valueSerde: serdes.byTemplate })
  return { byAgent, byTemplate }
}

type SessionSums = Omit<AgentSession, 'agent_id' | 'window_start' | 'window_end'>

/**
 * Activity sessions per agent, emitted on every update (store `util-agent-sessions`). Keys are
 * session-windowed agent ids (Kafka's SessionWindowedSerde layout); a session merged into a larger one
 * is deleted with a tombstone (null value) on its old key.
 */
export function agentSessions(
  agentEvents: KStream<string, AgentEvent>,
  options: SessionOptions,
  output: string,
  valueSerde: Serde<AgentSession>,
): KStream<Windowed<string>, AgentSession | null> {
  const { inactivityGapMs, graceMs } = resolveSessionOptions(options)
  const sums = Serdes.Json<SessionSums>()
  const sessions = agentEvents
    .groupByKey({ name: 'util-sessions-by-agent', keySerde: str, valueSerde: Serdes.Json<AgentEvent>() })
    .windowedBy(SessionWindows.ofInactivityGapAndGrace(inactivityGapMs, graceMs))
    .aggregate<SessionSums>(
      () => ({
        events: 0,
        first_event_at: Number.MAX_SAFE_INTEGER,
        last_event_at: Number.MIN_SAFE_INTEGER,
        status_changes: 0,
      }),
      (_agent, e, s) => ({
        events: s.events + 1,
        first_event_at: Math.min(s.first_event_at, e.occurred_at),
        last_event_at: Math.max(s.last_event_at, e.occurred_at),
        status_changes: s.status_changes + (payloadName(e.payload) === 'AgentStatusChanged' ? 1 : 0),
      }),
      (_agent, a, b) => ({
        events: a.events + b.events,
        first_event_at: Math.min(a.first_event_at, b.first_event_at),
        last_event_at: Math.max(a.last_event_at, b.last_event_at),
        status_changes: a.status_changes + b.status_changes,
      }),
      Materialized.as<string, SessionSums>(UTILIZATION_STORES.sessions)
        .withKeySerde(str)
        .withValueSerde(sums),
    )
    .toStream({ name: 'util-agent-sessions-stream' })
    .mapValues<AgentSession | null>(
      (s, key) =>
        s === null
          ? null
          : { agent_id: key.key, window_start: key.window.start, window_end: key.window.end, ...s },
      { name: 'util-agent-session-values' },
    )
  sessions.to(output, { keySerde: WindowedSerdes.sessionWindowed(str), valueSerde })
  return sessions
}
