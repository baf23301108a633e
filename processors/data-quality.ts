// Data quality, second rule: events that break the platform's rules (the outcome of a task never
// created, a team member no agent table knows, a status change of a terminated agent, ...) are not
// dropped: the entity folds apply what they can and report each finding, which goes to the
// data-quality topic with its reason and is counted; processing continues.
//
// The folds see every violation (they hold the entity's state when the event arrives), so each fold
// step returns, beside the entity's snapshot, the finding of that event if any (`Folded`). The steps
// are a stream of their own (entityTable), the table keeps only the snapshots, and the findings are
// the steps that carry one. Whatever depends on the arrival order decides by it: a task's completion
// before its creation is a finding even if the creation follows.
import type { EventFamily } from '../schemas/index.js'
import {
  type KeyValueStore,
  type KStream,
  type KTable,
  Materialized,
  type Processor,
  type ProcessorContext,
  type Serde,
  type StreamRecord,
} from '../topology/index.js'
import { topicName } from './config-error.js'

/**
 * Why an event broke the rules:
 * - UNKNOWN_TASK: a task assigned, started or ended before the task table saw it created;
 * - TASK_ALREADY_ENDED: a second outcome (completed, failed, cancelled) of an ended task;
 * - TERMINATED_AGENT_CHANGE: a status or capability change of a terminated agent;
 * - UNKNOWN_AGENT_MEMBER: a team member (TeamFormed, MemberJoined) the agent table has not seen created;
 * - TERMINATED_AGENT_MEMBER: a team member that is terminated;
 * - NOT_A_MEMBER: MemberLeft of an agent that is not a member of the team;
 * - ALREADY_A_MEMBER: MemberJoined of an agent that is a member already;
 * - TEAM_NOT_FORMED: MemberJoined or MemberLeft of a team that is not formed (never formed, failed or
 *   disbanded).
 */
export type DataQualityReason =
  | 'UNKNOWN_TASK'
  | 'TASK_ALREADY_ENDED'
  | 'TERMINATED_AGENT_CHANGE'
  | 'UNKNOWN_AGENT_MEMBER'
  | 'TERMINATED_AGENT_MEMBER'
  | 'NOT_A_MEMBER'
  | 'ALREADY_A_MEMBER'
  | 'TEAM_NOT_FORMED'

export const DATA_QUALITY_REASONS: readonly DataQualityReason[] = Object.freeze([
  'UNKNOWN_TASK',
  'TASK_ALREADY_ENDED',
  'TERMINATED_AGENT_CHANGE',
  'UNKNOWN_AGENT_MEMBER',
  'TERMINATED_AGENT_MEMBER',
  'NOT_A_MEMBER',
  'ALREADY_A_MEMBER',
  'TEAM_NOT_FORMED',
])

export type EntityType = 'agent' | 'team' | 'task'

/** A finding as a fold reports it: the event's family, not yet its topic name. */
export interface DataQualityIssue {
  reason: DataQualityReason
  family: EventFamily
  entity_type: EntityType
  entity_id: string
  event_id: string
  /** The event's payload type, e.g. TaskCompleted. */
  event_type: string
  occurred_at: number
  detail: string
}

/** A value of the data-quality topic (schemas/avro/outputs/data_quality.avsc), keyed by entity_id. */
export interface DataQualityRecord {
  reason: DataQualityReason
  /** The input topic the event came from. */
  topic: string
  entity_type: EntityType
  entity_id: string
  event_id: string
  event_type: string
  occurred_at: number
  detail: string
}

/** Called once per finding (a metric): like ProcessorHooks.onDuplicate. */
export type OnDataQuality = (reason: DataQualityReason, topic: string) => void

/** One fold step's result: the entity's snapshot and the finding of the input just folded (or null). */
export interface Folded<S> {
  readonly snapshot: S
  readonly issue: DataQualityIssue | null
}

/**
 * An entity table's serdes and where its snapshots go. With `output`, the snapshot output topic is
 * also the store's changelog (Materialized.withChangelogTopic): each update is written once, in the
 * output's serde, and a task restores its table from that topic; without, the store logs into its
 * internal changelog and nothing is written to an output.
 */
export interface EntityStoreOptions<S> {
  readonly key: Serde<string>
  readonly snapshot: Serde<S>
  readonly output?: string
}

/** An entity fold: the entity's fold steps (one per input) and its table. */
export interface EntityFold<S, Step extends Folded<S>> {
  /**
   * Every fold step, in input order: the snapshot after each input, with that input's finding (and
   * whatever else the step carries). Not cached: what must see every update reads this.
   */
  readonly steps: KStream<string, Step>
  /**
   * The snapshots as a table (store `name`, with a record cache: its changelog, and its changes
   * downstream, get the last snapshot of each entity per commit).
   */
  readonly table: KTable<string, S>
}

/**
 * Folds `inputs` (keyed by entity id) into an entity table named `name`. A processor reads the
 * entity's last snapshot from the table's store, folds the input into a step and forwards it; the
 * step's snapshot is then put in the store (toTable). Findings come from the steps, so the table can
 * keep a record cache: a cache replaces an entity's updates within a commit by the last one, which
 * would drop the findings of the others if they travelled with the table's changes.
 */
export function entityTable<I, S, Step extends Folded<S>>(
  inputs: KStream<string, I>,
  name: string,
  options: EntityStoreOptions<S>,
  fold: (id: string, previous: S | null, input: I) => Step,
): EntityFold<S, Step> {
  const steps = inputs.processValues(
    () => new EntityFoldProcessor<I, S, Step>(name, fold),
    { name: `dq-${name}-fold` },
    name,
  )
  const store = Materialized.as<string, S>(name).withKeySerde(options.key).withValueSerde(options.snapshot)
  const table = steps
    .mapValues((step) => step.snapshot, { name: `dq-${name}-snapshot` })
    .toTable(
      { name: `dq-${name}-table` },
      options.output === undefined ? store : store.withChangelogTopic(options.output),
    )
  return { steps, table }
}

class EntityFoldProcessor<I, S, Step extends Folded<S>> implements Processor<string, I, string, Step> {
  #context!: ProcessorContext<string, Step>
  #store!: KeyValueStore<string, S>

  constructor(
    private readonly storeName: string,
    private readonly fold: (id: string, previous: S | null, input: I) => Step,
  ) {}

  init(context: ProcessorContext<string, Step>): void {
    this.#context = context
    this.#store = context.getStateStore<KeyValueStore<string, S>>(this.storeName)
  }

  process(record: StreamRecord<string, I>): void {
    // As an aggregate: records without a key (dead-lettered upstream) or a value change nothing.
    const id = record.key
    if (id === null || id === undefined || record.value === null || record.value === undefined) return
    const step = this.fold(id, this.#store.get(id) ?? null, record.value)
    this.#context.forward(record.withValue(step))
  }
}

export interface DataQualityOptions {
  /** The output topic (suggested `agent_party.data_quality`). */
  readonly output: string
  readonly keySerde: Serde<string>
  /** The output values' serde (Avro in production, JSON in tests). */
  readonly valueSerde: Serde<DataQualityRecord>
  /** The input topic of each event family, named in each record. */
  readonly inputTopics: Readonly<Record<EventFamily, string>>
  readonly onDataQuality?: OnDataQuality
  /** Names the merge, count and sink processors: `<name>-merge`, ... Default `dq`. */
  readonly name?: string
}

/**
 * Writes the findings of the entity folds (each stream keyed by its entity id) to the data-quality
 * topic, keyed by entity id, calling onDataQuality once per finding. Returns the written stream.
 */
export function dataQualityOutput(
  findings: readonly KStream<string, DataQualityIssue>[],
  options: DataQualityOptions,
): KStream<string, DataQualityRecord> {
  topicName('outputTopics.dataQuality', options.output)
  const name = options.name ?? 'dq'
  const [first, ...rest] = findings
  if (first === undefined) throw new RangeError('dataQualityOutput needs at least one stream of findings')
  let merged = first
  rest.forEach((other, i) => {
    merged = merged.merge(other, { name: `${name}-merge-${i + 1}` })
  })
  const onDataQuality = options.onDataQuality
  const records = merged.mapValues(
    (issue): DataQualityRecord => {
      const { family, ...rest } = issue
      return { ...rest, topic: options.inputTopics[family] }
    },
    { name: `${name}-record` },
  )
  const counted =
    onDataQuality === undefined
      ? records
      : records.peek((_key, r) => onDataQuality(r.reason, r.topic), { name: `${name}-count` })
  counted.to(options.output, {
    name: `${name}-sink`,
    keySerde: options.keySerde,
    valueSerde: options.valueSerde,
  })
  return counted
}
