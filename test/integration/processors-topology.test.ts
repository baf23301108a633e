// The whole Agent Party topology through the real runner (`startProcessor`, what `agent-party run
// processor` runs): 200,000 generated events (with duplicates, out-of-order and late ones) produced to
// the broker in the registry wire format, processed exactly once, every output written in its
// registered Avro schema. The last value of every output that one input topic decides is compared
// exactly with the naive references the driver tests use; what joins topics, whose relative timing on a
// broker is not deterministic, is checked for its invariants (and for the parts of its values that one
// topic decides). Processing latency (the wall clock) is not compared.
//
// Why the one-topic outputs are deterministic on a broker. An output's final value can depend on the
// order records reach it in three ways: (1) through a window closing (grace) or a boundary settling,
// which depends on the aggregate's stream time, i.e. on how the upstream partitions interleave after a
// repartition; (2) through a stream-table join or a table of another topic, which sees the other side
// as it stands when the record is processed; (3) through the wall clock. Here the grace (600 s) is
// longer than the run's whole event time (about 220 s, checked below), so no window closes, no
// utilization boundary settles and no session is too late or expired, whatever the interleaving: (1)
// never happens. Within one key, order is that of one input partition (events are keyed by entity id,
// system events by component), which the broker keeps. So every output that reads one topic and no
// table of another ends with the same values as the references' plain loops: the entity snapshots, the
// business metrics (instantiations and formations from one topic each; task outcomes and tokens by
// agent and by team from the task table alone, the team being the task's own assignment; the top-N is
// derived from tokens by agent, whose totals only grow), utilization per agent and per template (the
// template is the agent's own AgentCreated), sessions, component metrics and inference time (each key,
// `team_formed` or a component, is fed by one topic only, though both share the aggregate). Idle agents
// per capability is a join output, but its final value depends only on each agent's final status and
// capabilities (the pair table's adds and retractions of one agent come from one partition, in order),
// so its end state is compared exactly too. Tokens per template (the agent table's template at the
// time of the outcome), team attribution and per-team outcomes (the team table's members), formation
// request capacity (the idle agents at request time), the alerts (crossing points, stream-time checks)
// and the data-quality findings (members the agent table does not know yet) are cross-topic: checked
// for their invariants.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAdmin, createConsumer } from '../../kafka/clients.js'
import { type FetchedRecord, PartitionFetcher, partitionKey } from '../../kafka/partition-fetcher.js'
import { ensureTopics } from '../../kafka/topics.js'
import type { Alert, AlertType } from '../../processors/alerts/alert.js'
import { FORMATION_RATE_SUBJECT } from '../../processors/alerts/formation-failure-rate.js'
import { resolveProcessorConfig } from '../../processors/config.js'
import { DATA_QUALITY_REASONS, type DataQualityRecord } from '../../processors/data-quality.js'
import type { AgentSnapshot } from '../../processors/entities/agents.js'
import type { TaskSnapshot } from '../../processors/entities/tasks.js'
import type { TeamSnapshot } from '../../processors/entities/teams.js'
import type {
  FormationRequestCapacity,
  IdleAgentsByCapability,
} from '../../processors/joins/idle-capacity.js'
import type { TeamTaskAttribution, TeamTaskOutcomes } from '../../processors/joins/team-attribution.js'
import type {
  AgentInstantiationsValue,
  TaskOutcomesValue,
  TeamFormationsValue,
  TokensByAgentValue,
  TokensByTeamValue,
  TokensByTemplateValue,
  TopTokenConsumersValue,
} from '../../processors/metrics/business.js'
import type { ComponentMetricSummary, InferenceTime } from '../../processors/metrics/performance.js'
import type {
  AgentSession,
  AgentUtilization,
  TemplateUtilization,
} from '../../processors/metrics/utilization.js'
import { OUTPUT_NAMES, type OutputName, outputSubjects, outputTopicSpecs } from '../../processors/outputs.js'
import { type RunningProcessor, startProcessor } from '../../processors/run-processor.js'
import { createProcessorSerdes, type ProcessorSerdes } from '../../processors/serdes.js'
import {
  type AgentEvent,
  type GeneratedRecord,
  generateRecords,
  produceEvents,
  registerEventSchemas,
  registerSchemas,
  registrySchemaLookup,
  type TaskEvent,
  type TeamEvent,
  valueSubject,
} from '../../schemas/index.js'
import {
  businessItems,
  businessReference,
  topConsumers,
  type Windowing,
} from '../support/business-references.js'
import {
  agentFields,
  agentReference,
  distinctEvents,
  taskFields,
  taskReference,
  teamFields,
  teamReference,
} from '../support/entity-references.js'
import {
  arrivals,
  attributionReference,
  capacityReference,
  teamOutcomesReference,
} from '../support/join-references.js'
import { deleteTestTopics } from '../support/kafka.js'
import {
  componentMetricSamples,
  inferenceTimeSamples,
  type ReferenceSummary,
  referenceSummaries,
  withinRelativeAccuracy,
} from '../support/performance-references.js'
import { stackConfig, testPrefix } from '../support/stack-env.js'
import { busyReference, type RefAgentEvent, sessionReference } from '../support/utilization-references.js'
import { prefixedFamilies } from './schemas/prefixed-families.js'

const prefix = testPrefix(import.meta.url)
const config = stackConfig({ STATE_DIR: mkdtempSync(join(tmpdir(), 'processors-')), LOG_LEVEL: 'warn' })
const { topics, client, createTopics, cleanUp } = prefixedFamilies(config, prefix)
const outputTopics = Object.fromEntries(OUTPUT_NAMES.map((name) => [name, `${prefix}-${name}`])) as Record<
  OutputName,
  string
>
const applicationId = `${prefix}-app`
const processor = resolveProcessorConfig({
  applicationId,
  inputTopics: topics,
  outputTopics,
  // Grace beyond the run's whole event time: on a broker, records reach an aggregate through
  // repartition topics written by several tasks, and the skew between them can make on-time events
  // late for a 30 s grace. Here nothing may be late, so that the final values are those of the
  // references whatever the interleaving (see the top of the file).
  metricsGraceMs: 600_000,
})
const generator = {
  seed: 'processors-topology',
  count: 200_000,
  // Recent event times, so the broker's retention keeps them.
  baseTime: Date.now() - 600_000,
  duplicateShare: 0.02,
  outOfOrderShare: 0.05,
  lateShare: 0.01,
  lateByMs: 20_000,
}
const OUTPUT_PARTITIONS = 4
const lookup = registrySchemaLookup(client)
let running: RunningProcessor | undefined

beforeAll(async () => {
  await createTopics(4)
  await registerEventSchemas(client, { topics })
  await registerSchemas(client, outputSubjects(outputTopics))
  // The output topics made with this file's partition count (as startProcessor would); ensureTopics
  // returns once the broker lists them (startProcessor checks them right after: MISSING_SINK_TOPIC).
  const admin = createAdmin(config.kafka, 'outputs')
  try {
    const specs = outputTopicSpecs(outputTopics, { partitions: OUTPUT_PARTITIONS })
    await ensureTopics(admin, specs, config.kafka.replicationFactor)
  } finally {
    await admin.close()
  }
}, 60_000)

afterAll(async () => {
  await running?.close()
  await cleanUp()
  const admin = createAdmin(config.kafka, 'cleanup')
  try {
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix))
    await deleteTestTopics(config, mine)
  } finally {
    await admin.close()
  }
  for (const topic of Object.values(outputTopics)) await client.deleteSubject(valueSubject(topic), true)
})

/** Outputs that are events (every record counts), not updates (the last record per key counts). */
const EVENT_OUTPUTS: readonly OutputName[] = [
  'teamTaskAttribution',
  'formationRequestCapacity',
  'alerts',
  'dataQuality',
]

/**
 * Follows every output topic from its start (read_committed), keeping the last record per key of the
 * updated outputs and every record of the event outputs; values are decoded when asked for, once.
 */
class Outputs {
  readonly #consumer = createConsumer(config.kafka, `${prefix}-outputs-${Date.now()}`)
  readonly #fetcher = new PartitionFetcher(this.#consumer, { isolation: 'read_committed', maxWaitMs: 50 })
  readonly #positions = new Map<string, { topic: string; partition: number; offset: number }>()
  readonly #last = new Map<OutputName, Map<string, FetchedRecord>>()
  readonly #all = new Map<OutputName, FetchedRecord[]>()
  readonly #decoded = new WeakMap<FetchedRecord, unknown>()
  readonly #names = new Map(OUTPUT_NAMES.map((n) => [outputTopics[n], n]))

  constructor(readonly serdes: ProcessorSerdes) {
    for (const name of OUTPUT_NAMES) {
      this.#last.set(name, new Map())
      this.#all.set(name, [])
      for (let partition = 0; partition < OUTPUT_PARTITIONS; partition++) {
        const topic = outputTopics[name]
        this.#positions.set(partitionKey(topic, partition), { topic, partition, offset: 0 })
      }
    }
  }

  /** Reads everything committed so far. */
  async drain(): Promise<void> {
    for (;;) {
      const fetched = await this.#fetcher.fetch([...this.#positions.values()])
      for (const batch of fetched) {
        const name = this.#names.get(batch.topic) as OutputName
        for (const r of batch.records) {
          if (EVENT_OUTPUTS.includes(name)) this.#all.get(name)?.push(r)
          else this.#last.get(name)?.set(r.key?.toString('hex') ?? '', r)
        }
        this.#positions.set(partitionKey(batch.topic, batch.partition), {
          topic: batch.topic,
          partition: batch.partition,
          offset: batch.nextOffset,
        })
      }
      if (fetched.every((b) => b.records.length === 0)) return
    }
  }

  #decode<T>(name: OutputName, r: FetchedRecord): T | null {
    if (r.value === null) return null
    if (!this.#decoded.has(r))
      this.#decoded.set(r, this.serdes.output<T>(name).deserialize(outputTopics[name], r.value))
    return this.#decoded.get(r) as T
  }

  /** The last value per key (null: a tombstone), with the raw key. */
  last<T>(name: OutputName): { key: Buffer; value: T | null }[] {
    return [...(this.#last.get(name)?.values() ?? [])].map((r) => ({
      key: r.key ?? Buffer.alloc(0),
      value: this.#decode<T>(name, r),
    }))
  }

  /** The latest values, by the id `id` gives them (tombstones left out). */
  byId<T>(name: OutputName, id: (v: T) => string): Map<string, T> {
    const out = new Map<string, T>()
    for (const { value } of this.last<T>(name)) if (value !== null) out.set(id(value), value)
    return out
  }

  /** Every record of an event output, decoded. */
  all<T>(name: OutputName): T[] {
    return (this.#all.get(name) ?? []).map((r) => this.#decode<T>(name, r) as T)
  }

  async close(): Promise<void> {
    await this.#consumer.close(true)
  }
}

/** A value as plain objects, arrays and maps (decoded Avro records are instances of their classes). */
const plain = (v: unknown): unknown =>
  v instanceof Map
    ? new Map([...v].map(([k, x]) => [k, plain(x)]))
    : Array.isArray(v)
      ? v.map(plain)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
        : v

/** Up to `n` differences between two maps, described (empty when equal). */
function differences<A, B>(
  want: Map<string, A>,
  got: Map<string, B>,
  same: (w: A, g: B) => boolean = (w, g) => isDeepStrictEqual(plain(w), plain(g)),
  n = 5,
): string[] {
  const out: string[] = []
  for (const [id, w] of want) {
    if (out.length >= n) break
    const g = got.get(id)
    if (g === undefined) out.push(`${id}: missing, want ${JSON.stringify(w)}`)
    else if (!same(w, g)) out.push(`${id}: got ${JSON.stringify(g)}, want ${JSON.stringify(w)}`)
  }
  for (const [id, g] of got) {
    if (out.length >= n) break
    if (!want.has(id)) out.push(`${id}: unexpected ${JSON.stringify(g)}`)
  }
  return out
}

/** A check of one output: its differences from what it should be (empty: passes). */
interface Check {
  readonly name: string
  readonly differences: () => string[]
}

const MINUTE = 60_000
const at = (key: string, start: number) => `${key}@${start}`
const pick = <T extends object>(v: T, ...fields: (keyof T)[]) =>
  Object.fromEntries(fields.map((f) => [f, v[f]])) as Partial<T>
const closeTo = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b))
const ALERT_TYPES: readonly AlertType[] = [
  'FORMATION_FAILURE_RATE',
  'TASK_NOT_STARTED',
  'AGENT_BUSY_TOO_LONG',
  'LATE_EVENT_RATE',
  'DEAD_LETTER_RATE',
]

/** What is wrong with an alert for its type (empty: valid). */
function alertProblems(a: Alert): string[] {
  const problems: string[] = []
  const expectThat = (ok: boolean, what: string) => {
    if (!ok) problems.push(`${a.alert_id}: ${what}`)
  }
  expectThat(ALERT_TYPES.includes(a.type), `unknown type ${a.type}`)
  const { alerts } = processor
  const windowed = a.window_start !== null && a.window_end !== null
  switch (a.type) {
    case 'FORMATION_FAILURE_RATE': {
      const formed = Number(a.details.formed)
      const failed = Number(a.details.failed)
      expectThat(a.severity === 'CRITICAL' && a.subject_type === 'METRIC', 'severity or subject type')
      expectThat(a.subject === FORMATION_RATE_SUBJECT, `subject ${a.subject}`)
      expectThat(a.threshold === alerts.maxFormationFailureRate, `threshold ${a.threshold}`)
      expectThat(
        a.observed > a.threshold && a.observed <= 1,
        `observed ${a.observed} not above the threshold`,
      )
      expectThat(
        closeTo(a.observed, failed / (formed + failed)),
        'observed is not failed / (formed + failed)',
      )
      expectThat(formed + failed >= alerts.minFormations, 'fewer formations than the minimum')
      expectThat(
        windowed && (a.window_end as number) - (a.window_start as number) === processor.metricsWindowMs,
        'window',
      )
      expectThat(a.alert_id === `${a.type}/${a.subject}/${a.window_start}`, 'id')
      break
    }
    case 'TASK_NOT_STARTED':
    case 'AGENT_BUSY_TOO_LONG': {
      const task = a.type === 'TASK_NOT_STARTED'
      const since = Number(task ? a.details.assigned_at : a.details.busy_since)
      expectThat(a.severity === 'WARNING', 'severity')
      expectThat(a.subject_type === (task ? 'TASK' : 'AGENT'), 'subject type')
      expectThat(a.threshold === (task ? alerts.taskStartTimeoutMs : alerts.agentMaxBusyMs), 'threshold')
      expectThat(a.observed >= a.threshold, `observed ${a.observed} below the threshold`)
      expectThat(a.observed === a.event_time - since, 'observed is not the time since the cause')
      expectThat(!windowed, 'a window')
      expectThat(a.alert_id === `${a.type}/${a.subject}/${since}`, 'id')
      break
    }
    case 'LATE_EVENT_RATE':
    case 'DEAD_LETTER_RATE': {
      const late = a.type === 'LATE_EVENT_RATE'
      expectThat(a.severity === (late ? 'WARNING' : 'CRITICAL') && a.subject_type === 'TOPIC', 'severity')
      expectThat(
        a.threshold === (late ? alerts.maxLatePerMinute : alerts.maxDeadLettersPerMinute),
        'threshold',
      )
      expectThat(a.observed > a.threshold, `observed ${a.observed} not above the threshold`)
      expectThat(windowed, 'no window')
      expectThat(a.alert_id === `${a.type}/${a.subject}/${a.window_start}`, 'id')
      break
    }
  }
  return problems
}

describe('the Agent Party topology on the real runtime', () => {
  it('ends with the references where one topic decides, and keeps its invariants where topics join', async () => {
    const records: GeneratedRecord[] = [...generateRecords(generator)]
    const agentEvents = distinctEvents<AgentEvent>(records, 'agent_events', 'arrival')
    const agents = agentReference(agentEvents)
    const teams = teamReference(distinctEvents<TeamEvent>(records, 'team_events', 'event-time'))
    const tasks = taskReference(distinctEvents<TaskEvent>(records, 'task_events', 'event-time'))
    const grace = processor.metricsGraceMs

    // The premise of every exact comparison: no window can close, no boundary settle, within the run.
    let first = Number.POSITIVE_INFINITY
    let latest = Number.NEGATIVE_INFINITY
    for (const r of records) {
      first = Math.min(first, r.timestamp)
      latest = Math.max(latest, r.timestamp)
    }
    const span = latest - first
    expect(span).toBeLessThan(grace - processor.metricsWindowMs)

    const serdes = await createProcessorSerdes(processor, { encoding: 'registry', lookup })
    const outputs = new Outputs(serdes)
    const checks: Check[] = []
    const exact = <A, B>(
      name: string,
      want: Map<string, A>,
      got: () => Map<string, B>,
      same?: (w: A, g: B) => boolean,
    ) => {
      expect(want.size, name).toBeGreaterThan(0)
      checks.push({ name, differences: () => differences(want, got(), same) })
    }

    // Entity snapshots.
    const snapshots =
      <S>(name: OutputName, fields: (s: S) => Record<string, unknown>) =>
      () => {
        const out = new Map<string, Record<string, unknown>>()
        for (const { key, value } of outputs.last<S>(name))
          if (value !== null) out.set(key.toString(), fields(value))
        return out
      }
    exact('tasks', tasks, snapshots<TaskSnapshot>('tasks', taskFields))
    exact('teams', teams, snapshots<TeamSnapshot>('teams', teamFields))
    exact('agents', agents, snapshots<AgentSnapshot>('agents', agentFields))

    // Business metrics, on the 1-minute tumbling windows and the hourly ones hopping by 5 minutes.
    const items = businessItems(records)
    const windowings: [string, Windowing][] = [
      ['', { sizeMs: processor.metricsWindowMs, advanceMs: processor.metricsWindowMs, graceMs: grace }],
      [
        'Hourly',
        { sizeMs: processor.hoppingWindowMs, advanceMs: processor.hoppingAdvanceMs, graceMs: grace },
      ],
    ]
    for (const [suffix, w] of windowings) {
      const out = (name: string) => `${name}${suffix}` as OutputName
      const ref = businessReference(items, w)
      for (const r of Object.values(ref)) expect([r.late, r.partlyLate]).toEqual([0, 0])
      const bounds = (start: number) => ({ window_start: start, window_end: start + w.sizeMs })
      const split = (id: string) => {
        const i = id.lastIndexOf('@')
        return [id.slice(0, i), Number(id.slice(i + 1))] as const
      }
      const withBounds = <A, V>(values: Map<string, A>, value: (key: string, a: A) => V) =>
        new Map(
          [...values].map(([id, a]) => {
            const [key, start] = split(id)
            return [id, { ...value(key, a), ...bounds(start) }]
          }),
        )
      exact(
        out('agentInstantiations'),
        withBounds(ref.instantiations.values, (key, count) => ({
          template_id: key.slice(0, key.lastIndexOf('@')),
          version: Number(key.slice(key.lastIndexOf('@') + 1)),
          count,
          per_minute: count / (w.sizeMs / MINUTE),
        })),
        () =>
          outputs.byId<AgentInstantiationsValue>(out('agentInstantiations'), (v) =>
            at(`${v.template_id}@${v.version}`, v.window_start),
          ),
      )
      exact(
        out('teamFormations'),
        withBounds(ref.formations.values, (_key, a) => a),
        () => outputs.byId<TeamFormationsValue>(out('teamFormations'), (v) => at('all', v.window_start)),
      )
      exact(
        out('taskOutcomes'),
        withBounds(ref.taskOutcomes.values, (priority, a) => ({ priority, ...a })),
        () => outputs.byId<TaskOutcomesValue>(out('taskOutcomes'), (v) => at(v.priority, v.window_start)),
      )
      exact(
        out('tokensByAgent'),
        withBounds(ref.tokensByAgent.values, (agent_id, tokens) => ({ agent_id, tokens })),
        () => outputs.byId<TokensByAgentValue>(out('tokensByAgent'), (v) => at(v.agent_id, v.window_start)),
      )
      exact(
        out('tokensByTeam'),
        withBounds(ref.tokensByTeam.values, (team_id, tokens) => ({ team_id, tokens })),
        () => outputs.byId<TokensByTeamValue>(out('tokensByTeam'), (v) => at(v.team_id, v.window_start)),
      )
      exact(
        out('topTokenConsumers'),
        new Map(
          [...topConsumers(ref.tokensByAgent.values, processor.topN)].map(([start, entries]) => [
            at('all', start),
            { ...bounds(start), entries },
          ]),
        ),
        () =>
          outputs.byId<TopTokenConsumersValue>(out('topTokenConsumers'), (v) => at('all', v.window_start)),
      )
      // Tokens per template join the agent table (another topic): per window, the tokens of all
      // templates still add up to those of all agents.
      const totals = <V extends { window_start: number; tokens: number }>(name: OutputName) => {
        const sums = new Map<string, number>()
        for (const { value: v } of outputs.last<V>(name))
          if (v !== null) sums.set(String(v.window_start), (sums.get(String(v.window_start)) ?? 0) + v.tokens)
        return sums
      }
      const agentTotals = new Map<string, number>()
      for (const [id, n] of ref.tokensByAgent.values) {
        const start = String(split(id)[1])
        agentTotals.set(start, (agentTotals.get(start) ?? 0) + n)
      }
      exact(`${out('tokensByTemplate')} totals per window`, agentTotals, () =>
        totals<TokensByTemplateValue>(out('tokensByTemplate')),
      )
    }

    // Utilization per agent and per template, and activity sessions.
    const refAgentEvents = agentEvents as unknown as RefAgentEvent[]
    const busy = busyReference(refAgentEvents, processor.metricsWindowMs, grace)
    expect(busy.clamped).toBe(0)
    exact('agentUtilization', busy.byAgent, () => {
      const got = new Map<string, unknown>()
      for (const [id, v] of outputs.byId<AgentUtilization>('agentUtilization', (v) =>
        at(v.agent_id, v.window_start),
      ))
        got.set(
          id,
          v.utilization === v.busy_ms / processor.metricsWindowMs
            ? { busy_ms: v.busy_ms, template_id: v.template_id }
            : v,
        )
      return got
    })
    exact('templateUtilization', busy.byTemplate, () => {
      const got = new Map<string, number>()
      for (const [id, v] of outputs.byId<TemplateUtilization>('templateUtilization', (v) =>
        at(v.template_id, v.window_start),
      ))
        got.set(id, v.utilization === v.busy_ms / processor.metricsWindowMs ? v.busy_ms : -1)
      return got
    })
    const sessions = sessionReference(refAgentEvents, processor.sessionGapMs, grace)
    expect(sessions.late).toBe(0)
    exact(
      'agentSessions',
      new Map(
        [...sessions.sessions].map(([id, s]) => [
          id,
          [s.agent_id, s.start, s.end, s.events, s.first_event_at, s.last_event_at, s.status_changes],
        ]),
      ),
      () => {
        // Session-windowed keys: [agent id][end: int64 BE][start: int64 BE]; a merged-away session's
        // last record is its tombstone.
        const got = new Map<string, unknown[]>()
        for (const { key, value } of outputs.last<AgentSession>('agentSessions')) {
          if (value === null) continue
          const agent = key.subarray(0, key.length - 16).toString()
          const end = Number(key.readBigInt64BE(key.length - 16))
          const start = Number(key.readBigInt64BE(key.length - 8))
          got.set(`${agent}@${start}-${end}`, [
            value.agent_id,
            value.window_start,
            value.window_end,
            value.events,
            value.first_event_at,
            value.last_event_at,
            value.status_changes,
          ])
        }
        return got
      },
    )

    // Component metrics and inference time: counts, min, max exact, sum and mean to float rounding (the
    // order of the additions may differ), each percentile within the sketch's relative accuracy of the
    // exact quantile; the unit of a component's metric is the latest of one partition's samples.
    const alpha = processor.performance.relativeAccuracy
    const summaries = (samples: ReturnType<typeof componentMetricSamples>) => {
      const { summaries, late } = referenceSummaries(samples, processor.metricsWindowMs, grace)
      expect(late).toBe(0)
      return summaries
    }
    const sameSummary = (e: ReferenceSummary, a: InferenceTime | ComponentMetricSummary) =>
      isDeepStrictEqual(pick(a, 'window_start', 'window_end', 'count', 'min', 'max'), {
        window_start: e.window_start,
        window_end: e.window_end,
        count: e.count,
        min: e.min,
        max: e.max,
      }) &&
      closeTo(a.mean, e.mean) &&
      (!('sum' in a) || closeTo(a.sum, e.sum)) &&
      (!('unit' in a) || a.unit === e.unit) &&
      (['p50', 'p95', 'p99'] as const).every((q) => withinRelativeAccuracy(a[q], e[q], alpha))
    exact(
      'componentMetrics',
      summaries(componentMetricSamples(records)),
      () =>
        outputs.byId<ComponentMetricSummary>('componentMetrics', (v) =>
          at(`${v.component}/${v.name}`, v.window_start),
        ),
      sameSummary,
    )
    exact(
      'inferenceTime',
      summaries(inferenceTimeSamples(records, processor.performance.inferenceMetricNames)),
      () => outputs.byId<InferenceTime>('inferenceTime', (v) => at(v.source, v.window_start)),
      sameSummary,
    )

    // Idle agents per capability: the end state follows from the agents' final statuses and
    // capabilities alone (capabilities nobody has any more may stay with zero agents or go).
    const fed = arrivals(records, 'generated')
    const capacity = capacityReference(fed)
    const live = (m: Map<string, Record<string, unknown>>) =>
      new Map([...m].filter(([, v]) => (v.agents as number) > 0))
    exact('idleAgentsByCapability', live(capacity.table), () => {
      const got = new Map<string, Record<string, unknown>>()
      for (const { key, value } of outputs.last<IdleAgentsByCapability>('idleAgentsByCapability'))
        if (value !== null) got.set(key.toString(), { ...value })
      return live(got)
    })

    // Team attribution: every outcome once, keyed by its task; what the task events decide (status,
    // priority, team, time, tokens) exact; the members (the team table then) only add up.
    const attribution = attributionReference(fed)
    const oneTopicFields = (v: Record<string, unknown>) =>
      pick(v, 'task_id', 'status', 'priority', 'team_id', 'finished_at', 'tokens_used')
    exact(
      'teamTaskAttribution',
      new Map(attribution.map((row) => [row.key, oneTopicFields(row.value)])),
      () => {
        const got = new Map<string, unknown>()
        for (const a of outputs.all<TeamTaskAttribution>('teamTaskAttribution')) {
          const members = a.members.reduce((n, m) => n + (m.member ? m.tokens_used : 0), 0)
          const others = a.members.reduce((n, m) => n + (m.member ? 0 : m.tokens_used), 0)
          const adds =
            members === a.member_tokens &&
            others === a.non_member_tokens &&
            a.member_tokens + a.non_member_tokens === a.tokens_used &&
            a.members.every((m) => m.member === (m.role !== null))
          // A second record for a task, or one whose tokens do not add up, shows as a difference.
          got.set(got.has(a.task_id) ? `${a.task_id} again` : a.task_id, adds ? oneTopicFields({ ...a }) : a)
        }
        return got
      },
    )
    // Outcomes and tokens per team and window: the counts and tokens exact (the task's own team), the
    // non-members' tokens those of the attributions of the window; the totals per window those of the
    // task outcomes per priority.
    const teamOutcomes = teamOutcomesReference(attribution, processor.metricsWindowMs, grace)
    expect(teamOutcomes.late).toBe(0)
    const counted = (v: Record<string, unknown>) =>
      pick(v, 'team_id', 'window_start', 'window_end', 'completed', 'failed', 'cancelled', 'tokens_used')
    exact('teamTaskOutcomes', new Map([...teamOutcomes.values].map(([id, v]) => [id, counted(v)])), () => {
      const nonMembers = new Map<string, number>()
      for (const a of outputs.all<TeamTaskAttribution>('teamTaskAttribution')) {
        const id = at(a.team_id ?? 'UNKNOWN', Math.floor((a.finished_at as number) / MINUTE) * MINUTE)
        nonMembers.set(id, (nonMembers.get(id) ?? 0) + a.non_member_tokens)
      }
      const got = new Map<string, unknown>()
      for (const [id, v] of outputs.byId<TeamTaskOutcomes>('teamTaskOutcomes', (v) =>
        at(v.team_id ?? 'UNKNOWN', v.window_start),
      ))
        got.set(id, v.non_member_tokens === (nonMembers.get(id) ?? 0) ? counted({ ...v }) : v)
      return got
    })
    const perWindow = <V extends { window_start: number }>(list: Iterable<V>, n: (v: V) => number) => {
      const out = new Map<string, number>()
      for (const v of list) out.set(String(v.window_start), (out.get(String(v.window_start)) ?? 0) + n(v))
      return out
    }
    checks.push({
      name: 'teamTaskOutcomes totals per window = taskOutcomes per window',
      differences: () =>
        differences(
          perWindow(
            outputs.byId<TaskOutcomesValue>('taskOutcomes', (v) => at(v.priority, v.window_start)).values(),
            (v) => v.completed + v.failed + v.cancelled,
          ),
          perWindow(
            outputs
              .byId<TeamTaskOutcomes>('teamTaskOutcomes', (v) => at(v.team_id ?? '', v.window_start))
              .values(),
            (v) => v.completed + v.failed + v.cancelled,
          ),
        ),
    })

    // Formation request capacity: one record per TeamFormationRequested, what the request says exact,
    // the idle agents (the agent table at request time) at most the agents with the capability.
    const requestFields = (v: Record<string, unknown>) => ({
      team_id: v.team_id,
      task_id: v.task_id,
      requested_at: v.requested_at,
      capabilities: (v.capabilities as { capability: string }[]).map((c) => c.capability),
    })
    exact(
      'formationRequestCapacity',
      new Map(capacity.requests.map((r) => [r.value.request_id as string, requestFields(r.value)])),
      () => {
        const got = new Map<string, unknown>()
        for (const r of outputs.all<FormationRequestCapacity>('formationRequestCapacity')) {
          const valid =
            r.capabilities.every((c) => c.idle_agents >= 0 && c.idle_agents <= c.agents) &&
            r.all_covered === r.capabilities.every((c) => c.idle_agents > 0)
          got.set(
            got.has(r.request_id) ? `${r.request_id} again` : r.request_id,
            valid ? requestFields({ ...r }) : r,
          )
        }
        return got
      },
    )
    checks.push({
      name: 'idleAgentsByCapability: idle <= agents, the statuses add up',
      differences: () =>
        outputs
          .last<IdleAgentsByCapability>('idleAgentsByCapability')
          .flatMap(({ value: v }) =>
            v === null ||
            (v.idle_agents <= v.agents &&
              v.idle_agents + v.busy_agents + v.offline_agents + v.unknown_agents === v.agents)
              ? []
              : [JSON.stringify(v)],
          )
          .slice(0, 5),
    })

    // Alerts: each valid for its type. Data-quality findings: a known reason and an input topic.
    checks.push({
      name: 'alerts',
      differences: () => outputs.all<Alert>('alerts').flatMap(alertProblems).slice(0, 5),
    })
    checks.push({
      name: 'dataQuality',
      differences: () =>
        outputs
          .all<DataQualityRecord>('dataQuality')
          .flatMap((f) =>
            (DATA_QUALITY_REASONS as readonly string[]).includes(f.reason) &&
            Object.values(topics).includes(f.topic)
              ? []
              : [JSON.stringify(f)],
          )
          .slice(0, 5),
    })

    // Run, and poll every output until it matches or the deadline passes (outputs behind repartition
    // hops arrive after the entity snapshots).
    // The whole input first, then the processor: a backlog, as a replay or a restart after an outage
    // sees it. (Before the runtime bounded a transaction to 100k records, such a start made a few huge
    // transactions that outlasted the transaction timeout and were fenced, again and again.)
    await produceEvents({ ...generator, batchSize: 2000, topics, target: { kind: 'kafka', config } })
    const started = Date.now()
    running = await startProcessor(config, { processor, metricsPort: 0, outputPartitions: OUTPUT_PARTITIONS })
    const probe = `http://127.0.0.1:${running.port}`
    const deadline = started + 200_000
    let pending = checks
    const failures = new Map<string, string[]>()
    try {
      for (;;) {
        await outputs.drain()
        failures.clear()
        for (const c of pending) {
          const d = c.differences()
          if (d.length > 0) failures.set(c.name, d)
        }
        pending = pending.filter((c) => failures.has(c.name))
        if (pending.length === 0 || Date.now() > deadline) break
        await new Promise((r) => setTimeout(r, 1000))
      }
    } finally {
      await outputs.close()
    }
    const metrics = await (await fetch(`${probe}/metrics`)).text()
    const total = (metric: string) =>
      [...metrics.matchAll(new RegExp(`^agent_party_streams_${metric}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))].reduce(
        (n, m) => n + Number(m[1]),
        0,
      )
    const aborted = total('transactions_aborted_total')
    console.info(
      `${failures.size === 0 ? 'every output as expected' : `${failures.size} output(s) not as expected`} ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s after the start; ${total('commits_total')} commits, ` +
        `${aborted} aborted, ${total('records_processed_total')} records processed`,
    )
    expect(Object.fromEntries(failures)).toEqual({})

    // The probes: ready once running, and the duplicates dropped counted per topic.
    expect((await fetch(`${probe}/ready`)).status).toBe(200)
    const dropped = total('duplicate_events_total')
    const distinct = new Set(records.map((r) => (r.event as { event_id: string }).event_id)).size
    // A Prometheus counter is not part of the transaction: when commits failed and the tasks were
    // rebuilt from the last commit (counted as aborted transactions), the duplicates processed again
    // are counted again, at most once more per abort; a first copy is never a duplicate. Exact
    // otherwise.
    const sent = records.length - distinct
    if (aborted > 0)
      console.warn(`${aborted} aborted transaction(s): ${dropped} duplicates counted, ${sent} sent`)
    expect(dropped).toBeGreaterThanOrEqual(sent)
    expect(dropped).toBeLessThanOrEqual(sent * (1 + aborted))
  }, 420_000)

  it('refuses to start on output topics whose schemas were never registered, saying how to fix it', async () => {
    const unprovisioned = resolveProcessorConfig({
      applicationId: `${prefix}-unprovisioned`,
      inputTopics: topics,
      outputTopics: { agents: `${prefix}-never-provisioned-agents` },
    })
    const error = await createProcessorSerdes(unprovisioned, { encoding: 'registry', lookup }).catch((e) => e)
    expect(error).toMatchObject({ code: 'SCHEMA_NOT_REGISTERED' })
    expect((error as Error).message).toContain(`${prefix}-never-provisioned-agents-value`)
    expect((error as Error).message).toContain('agent-party provision')
  })
})
