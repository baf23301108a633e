// The Neo4j sink target (the contract: sinks/runtime/target.ts): the entity snapshots of
// agent_party.agents, .teams and .tasks written as the graph of ARCHITECTURE.md "Graph model"
// (graph-cypher.ts says which snapshot owns which relationship), exactly once: each apply() is one
// write transaction that first write-locks the batch's (:SinkOffset {sink, topic, partition}) nodes,
// reads their offsets under that lock, applies only the records above them (the last snapshot of each
// key: graph-rows.ts), and moves the offsets to the batch's lastOffset, all committed together.
import neo4j, { type Driver, type ManagedTransaction, type Session } from 'neo4j-driver'
import type { Logger } from 'pino'
import type { Config } from '../../config/config.js'
import type { SinkMetrics } from '../../config/metrics.js'
import { type FetchedRecord, partitionKey } from '../../kafka/partition-fetcher.js'
import { OUTPUTS } from '../../processors/outputs.js'
import type { ProcessorSerdes } from '../../processors/serdes.js'
import type { Serde } from '../../topology/index.js'
import type {
  FailureKind,
  PartitionAudit,
  PartitionBatch,
  PartitionOffset,
  SinkTarget,
  StoredOffsets,
  TopicPartition,
} from '../runtime/target.js'
import { classifyNeo4jError, isConnectionFailure } from './classify-error.js'
import { createNeo4jDriver, type Neo4jPoolOptions } from './driver.js'
import {
  CREATE_SINK_OFFSET_CONSTRAINT,
  DELETE_AGENTS,
  DELETE_GRAPH,
  DELETE_SINK_OFFSETS,
  DELETE_TASKS,
  DELETE_TEAMS,
  LOCK_OFFSETS,
  READ_OFFSETS,
  SINK_OFFSET_CONSTRAINT,
  UPSERT_AGENTS,
  UPSERT_TASKS,
  UPSERT_TEAMS,
} from './graph-cypher.js'
import {
  ENTITY_KINDS,
  type EntityKind,
  type EntitySnapshot,
  type GraphRows,
  graphRows,
} from './graph-rows.js'

export const DEFAULT_NEO4J_SINK_NAME = 'neo4j'

/** A reset's stored offsets: nothing applied yet, the next record to apply is the one after `offset`. */
const STORE_OFFSETS = `
UNWIND $parts AS p
MERGE (o:SinkOffset {sink: $sink, topic: p.topic, partition: p.partition})
SET o.offset = p.offset, o.applied = 0, o.updated_at = timestamp()`

export interface Neo4jSinkTargetOptions {
  /** The sink's id (its offsets' `sink`, its metrics' label, its group suffix). Default `neo4j`. */
  readonly name?: string
  /** The Neo4j connection (config.neo4j); the target builds and closes its driver. */
  readonly neo4j: Config['neo4j']
  /** Pool settings for the driver it builds. */
  readonly pool?: Neo4jPoolOptions
  /** Use this driver instead of building one (the caller closes it). `neo4j.database` still applies. */
  readonly driver?: Driver
  /** The entity topics. Default: processors/outputs.ts OUTPUTS. */
  readonly topics?: Partial<Record<EntityKind, string>>
  /** The snapshots' serdes (createProcessorSerdes); or `decode` instead. */
  readonly serdes?: Pick<ProcessorSerdes, 'output'>
  /** Decodes a record's value of one entity topic (instead of `serdes`). */
  readonly decode?: (kind: EntityKind, record: FetchedRecord) => EntitySnapshot
  /**
   * Default true. False (tests only: a run that must show what the guard prevents) applies every
   * record whatever the stored offset (still stored and counted, see audit()), and restart() returns
   * no offsets.
   */
  readonly guard?: boolean
  readonly metrics?: SinkMetrics
  readonly logger?: Logger
}

/** Which step of the graph write an operation metric is about. */
type Operation =
  | 'open'
  | 'apply'
  | 'offsets'
  | 'restart'
  | EntityKind
  | `${EntityKind}_tombstones`
  | 'reset'
  | 'ping'

export class Neo4jSinkTarget implements SinkTarget<EntitySnapshot> {
  readonly name: string
  readonly topics: readonly string[]
  readonly #database: string
  readonly #config: Config['neo4j']
  readonly #pool: Neo4jPoolOptions
  readonly #ownsDriver: boolean
  #driver: Driver | undefined
  readonly #kinds = new Map<string, EntityKind>()
  readonly #serdes = new Map<EntityKind, Serde<EntitySnapshot>>()
  readonly #decode: ((kind: EntityKind, record: FetchedRecord) => EntitySnapshot) | undefined
  readonly #metrics: SinkMetrics | undefined
  readonly #logger: Logger | undefined
  readonly #guard: boolean
  #sessionsInFlight = 0
  #sessionsPeak = 0
  #lockToken = 0

  constructor(options: Neo4jSinkTargetOptions) {
    this.name = options.name ?? DEFAULT_NEO4J_SINK_NAME
    if (this.name === '') throw new RangeError('Neo4jSinkTarget: name must not be empty')
    this.#config = options.neo4j
    this.#database = options.neo4j.database
    this.#pool = options.pool ?? {}
    this.#driver = options.driver
    this.#ownsDriver = options.driver === undefined
    for (const kind of ENTITY_KINDS) {
      const topic = options.topics?.[kind] ?? OUTPUTS[kind].topic
      if (this.#kinds.has(topic))
        throw new RangeError(`Neo4jSinkTarget: topic ${topic} given for two entities`)
      this.#kinds.set(topic, kind)
    }
    this.topics = Object.freeze([...this.#kinds.keys()])
    if (options.serdes === undefined && options.decode === undefined)
      throw new RangeError('Neo4jSinkTarget: give serdes or decode')
    if (options.serdes) {
      for (const kind of ENTITY_KINDS) this.#serdes.set(kind, options.serdes.output<EntitySnapshot>(kind))
    }
    this.#decode = options.decode
    this.#metrics = options.metrics
    this.#logger = options.logger
    this.#guard = options.guard ?? true
  }

  async open(): Promise<void> {
    this.#driver ??= createNeo4jDriver(this.#config, this.#pool)
    // The migration (deploy/neo4j/migrations.ts, version 6) creates the constraint; this makes a sink
    // started on an unmigrated graph safe too (a MERGE without it is no lock under concurrency).
    const { records } = await this.#timed('open', () =>
      this.#run((s) =>
        s.run('SHOW CONSTRAINTS YIELD name WHERE name = $name RETURN count(*) AS n', {
          name: SINK_OFFSET_CONSTRAINT,
        }),
      ),
    )
    if (Number(records[0]?.get('n') ?? 0) === 0) {
      this.#logger?.warn(
        { sink: this.name },
        'sink_offset_key constraint missing (migrations not run): creating it',
      )
      await this.#run((s) => s.run(CREATE_SINK_OFFSET_CONSTRAINT))
    }
  }

  async prepare(records: readonly FetchedRecord[]): Promise<void> {
    if (this.#serdes.size === 0) return
    const byTopic = new Map<string, Buffer[]>()
    for (const r of records) {
      if (r.value === null || !this.#kinds.has(r.topic)) continue
      const values = byTopic.get(r.topic)
      if (values) values.push(r.value)
      else byTopic.set(r.topic, [r.value])
    }
    await Promise.all(
      [...byTopic].map(async ([topic, values]) => {
        const serde = this.#serdes.get(this.#kind(topic))
        await serde?.prepare?.(topic, values)
      }),
    )
  }

  decode(record: FetchedRecord): EntitySnapshot {
    const kind = this.#kind(record.topic)
    if (this.#decode) return this.#decode(kind, record)
    if (record.value === null) throw new Error('decode called with a null value')
    return (this.#serdes.get(kind) as Serde<EntitySnapshot>).deserialize(record.topic, record.value)
  }

  async audit(partitions: readonly TopicPartition[]): Promise<ReadonlyMap<string, PartitionAudit>> {
    const out = new Map<string, PartitionAudit>()
    if (partitions.length === 0) return out
    const parts = partitions.map((p) => ({ topic: p.topic, partition: neo4j.int(p.partition) }))
    const { records } = await this.#run((s) =>
      s.executeRead((tx) => tx.run(READ_OFFSETS, { sink: this.name, parts }), { metadata: this.#txMeta() }),
    )
    for (const r of records) {
      const offset = r.get('offset')
      out.set(partitionKey(r.get('topic'), Number(r.get('partition'))), {
        offset: offset === null ? undefined : Number(offset),
        applied: Number(r.get('applied')),
      })
    }
    return out
  }

  async restart(partitions: readonly TopicPartition[]): Promise<StoredOffsets> {
    const stored = new Map<string, number>()
    if (partitions.length === 0 || !this.#guard) return stored
    const parts = partitions.map((p) => ({ topic: p.topic, partition: neo4j.int(p.partition) }))
    const { records } = await this.#timed('restart', () =>
      this.#run((s) =>
        s.executeRead((tx) => tx.run(READ_OFFSETS, { sink: this.name, parts }), { metadata: this.#txMeta() }),
      ),
    )
    for (const r of records) {
      const offset = r.get('offset')
      if (offset !== null)
        stored.set(partitionKey(r.get('topic'), Number(r.get('partition'))), Number(offset))
    }
    return stored
  }

  async apply(batch: readonly PartitionBatch<EntitySnapshot>[]): Promise<void> {
    if (batch.length === 0) return
    for (const p of batch) this.#kind(p.topic)
    // Lock order: the same partitions in the same order in every transaction.
    const sorted = [...batch].sort((a, b) =>
      a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1,
    )
    const parts = sorted.map((p) => ({
      topic: p.topic,
      partition: neo4j.int(p.partition),
      last: neo4j.int(p.lastOffset),
      offsets: p.records.map((r) => neo4j.int(r.offset)),
    }))
    const lock = ++this.#lockToken
    await this.#timed('apply', () =>
      this.#run((s) =>
        s.executeWrite(
          async (tx) => {
            const stored = new Map<string, number | null>()
            const { records } = await this.#timed('offsets', () =>
              tx.run(LOCK_OFFSETS, { sink: this.name, parts, lock: neo4j.int(lock), guard: this.#guard }),
            )
            for (const r of records) {
              const offset = r.get('stored')
              stored.set(
                partitionKey(r.get('topic'), Number(r.get('partition'))),
                offset === null ? null : Number(offset),
              )
            }
            const rows = graphRows(
              sorted.map((p) => ({
                topic: p.topic,
                kind: this.#kind(p.topic),
                records: p.records,
                stored: stored.get(partitionKey(p.topic, p.partition)) ?? null,
              })),
            )
            await this.#write(tx, rows)
            return rows
          },
          { metadata: this.#txMeta() },
        ),
      ),
    )
  }

  /** The graph writes of one batch, in a fixed order (agents, teams, tasks) inside its transaction. */
  async #write(tx: ManagedTransaction, rows: GraphRows): Promise<void> {
    const steps: [Operation, string, Record<string, unknown>, number][] = [
      ['agents', UPSERT_AGENTS, { rows: rows.agents.upserts }, rows.agents.upserts.length],
      ['agents_tombstones', DELETE_AGENTS, { ids: rows.agents.deletes }, rows.agents.deletes.length],
      ['teams', UPSERT_TEAMS, { rows: rows.teams.upserts }, rows.teams.upserts.length],
      ['teams_tombstones', DELETE_TEAMS, { ids: rows.teams.deletes }, rows.teams.deletes.length],
      ['tasks', UPSERT_TASKS, { rows: rows.tasks.upserts }, rows.tasks.upserts.length],
      ['tasks_tombstones', DELETE_TASKS, { ids: rows.tasks.deletes }, rows.tasks.deletes.length],
    ]
    for (const [operation, query, params, size] of steps) {
      if (size > 0) await this.#timed(operation, () => tx.run(query, params))
    }
  }

  async revoke(): Promise<void> {
    // Nothing is kept between batches.
  }

  classify(error: unknown): FailureKind {
    return classifyNeo4jError(error)
  }

  /**
   * Deletes this sink's offsets, then every Agent, Capability, Team and Task node with its
   * relationships, in transactions of 1,000 nodes (5,000 Team nodes with their relationships exceeded
   * the transaction memory of the local stack's 512 MiB Neo4j). The graph labels are the sink's own: a second
   * Neo4j sink on the same database would lose its graph too (its offsets stay, so reset it as well).
   * Offsets first: a reset interrupted half-way leaves a partial graph that a replay from offset 0
   * overwrites, never a graph ahead of its offsets.
   */
  async reset(): Promise<void> {
    await this.#timed('reset', async () => {
      await this.#run((s) =>
        s.executeWrite((tx) => tx.run(DELETE_SINK_OFFSETS, { sink: this.name }), {
          metadata: this.#txMeta(),
        }),
      )
      for (const label of ['Agent', 'Team', 'Task', 'Capability']) {
        // CALL { } IN TRANSACTIONS runs only in an auto-commit transaction (session.run).
        await this.#run((s) => s.run(DELETE_GRAPH(label)))
      }
    })
  }

  /**
   * Sets the offset nodes of these partitions (created when missing) to the given offsets with an
   * `applied` count of 0, in one write transaction (a reset's offsets: ops/reset.ts).
   */
  async storeOffsets(offsets: readonly PartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return
    const parts = offsets.map((p) => ({
      topic: p.topic,
      partition: neo4j.int(p.partition),
      offset: neo4j.int(p.offset),
    }))
    await this.#timed('reset', () =>
      this.#run((s) =>
        s.executeWrite((tx) => tx.run(STORE_OFFSETS, { sink: this.name, parts }), {
          metadata: this.#txMeta(),
        }),
      ),
    )
  }

  async ping(): Promise<boolean> {
    try {
      await this.#timed('ping', () => this.#run((s) => s.run('RETURN 1')))
      return true
    } catch {
      return false
    }
  }

  async close(): Promise<void> {
    const driver = this.#driver
    this.#driver = undefined
    if (driver && this.#ownsDriver) await driver.close()
  }

  #kind(topic: string): EntityKind {
    const kind = this.#kinds.get(topic)
    if (kind === undefined) throw new Error(`Neo4j sink ${this.name} does not consume topic ${topic}`)
    return kind
  }

  #txMeta(): Record<string, string> {
    return { app: 'agent-party-sink', sink: this.name }
  }

  /**
   * One session for one unit of work. The driver exposes no pool state, so the pool metric is
   * counted here: in use = this target's sessions in flight (one connection each), idle = the
   * most ever in flight minus those (the pool keeps the connections it opened until their lifetime).
   */
  async #run<R>(work: (session: Session) => Promise<R>): Promise<R> {
    const driver = this.#driver
    if (!driver) throw new Error(`Neo4j sink ${this.name} is not open`)
    const session = driver.session({ database: this.#database, defaultAccessMode: neo4j.session.WRITE })
    this.#sessionsInFlight++
    this.#sessionsPeak = Math.max(this.#sessionsPeak, this.#sessionsInFlight)
    this.#samplePool()
    try {
      return await work(session)
    } catch (error) {
      if (isConnectionFailure(error)) this.#metrics?.neo4jConnectionFailure()
      throw error
    } finally {
      this.#sessionsInFlight--
      this.#samplePool()
      await session.close().catch(() => undefined)
    }
  }

  #samplePool(): void {
    this.#metrics?.neo4jPool(this.#sessionsInFlight, this.#sessionsPeak - this.#sessionsInFlight)
  }

  async #timed<R>(operation: Operation, work: () => Promise<R>): Promise<R> {
    const start = performance.now()
    try {
      return await work()
    } finally {
      this.#metrics?.neo4jQuery(operation, performance.now() - start)
    }
  }
}
