// The whole pipeline for the sinks' chaos tests, on one test file's own names: event topics, the
// processors (in this process) writing their output topics, the sinks run as `agent-party run sinks`
// child processes with an environment naming the file's groups, key prefix and bucket; and the checks
// that the sinks' state equals the logs: the exactly-once audit (records applied per partition, stored
// with the data, against the records in the log), the Neo4j graph and the Redis read model against the
// last record of every key of the output topics, the archive against the input topics record by record.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import type { Config } from '../../config/config.js'
import { createAdmin } from '../../kafka/clients.js'
import { partitionKey } from '../../kafka/partition-fetcher.js'
import { ensureTopics } from '../../kafka/topics.js'
import { type ProcessorConfig, resolveProcessorConfig } from '../../processors/config.js'
import type { AgentSnapshot } from '../../processors/entities/agents.js'
import type { TaskSnapshot } from '../../processors/entities/tasks.js'
import type { TeamSnapshot } from '../../processors/entities/teams.js'
import {
  OUTPUT_NAMES,
  OUTPUTS,
  type OutputName,
  outputSubjects,
  outputTopicSpecs,
} from '../../processors/outputs.js'
import { type RunningProcessor, startProcessor } from '../../processors/run-processor.js'
import { createProcessorSerdes, type ProcessorSerdes } from '../../processors/serdes.js'
import {
  produceEvents,
  registerEventSchemas,
  registerSchemas,
  registrySchemaLookup,
  valueSubject,
} from '../../schemas/index.js'
import { createNeo4jDriver } from '../../sinks/neo4j/driver.js'
import { Neo4jSinkTarget } from '../../sinks/neo4j/target.js'
import { RedisReadModel } from '../../sinks/redis/read-model.js'
import { RedisSinkTarget } from '../../sinks/redis/target.js'
import { REDIS_OUTPUTS } from '../../sinks/redis/writes.js'
import type { SinkTarget, TopicPartition } from '../../sinks/runtime/target.js'
import { removeUnder } from '../../sinks/s3/archive.js'
import { ArchiveReader } from '../../sinks/s3/archive-reader.js'
import { createS3Client } from '../../sinks/s3/client.js'
import { prefixedFamilies } from '../integration/schemas/prefixed-families.js'
import { deleteTestTopics, type RawRecord, readTopicRaw } from './kafka.js'
import { stackConfig, stackEnv, testPrefix } from './stack-env.js'

export const PARTITIONS = 4

/** One partition's records as read (read_committed), in offset order. */
type Log = Map<string, RawRecord[]>

/**
 * Removes a test file's entities from the shared graph (by id, with the capabilities only they used) and
 * the offsets its Neo4j sink stored under `neo4jSinkId`.
 */
export async function removeGraphData(
  config: Config,
  ids:
    | {
        readonly agents: readonly string[]
        readonly teams: readonly string[]
        readonly tasks: readonly string[]
      }
    | undefined,
  neo4jSinkId: string,
): Promise<void> {
  const driver = createNeo4jDriver(config.neo4j)
  try {
    const db = { database: config.neo4j.database }
    await driver.executeQuery(
      `MATCH (n) WHERE (n:Agent OR n:Team OR n:Task) AND n.id IN $all
       OPTIONAL MATCH (n)--(c:Capability)
       WITH collect(DISTINCT n) AS nodes, collect(DISTINCT c) AS caps
       FOREACH (n IN nodes | DETACH DELETE n)
       WITH caps UNWIND caps AS c WITH c WHERE NOT EXISTS { (c)--() } DELETE c`,
      { all: ids ? [...ids.agents, ...ids.teams, ...ids.tasks] : [] },
      db,
    )
    await driver.executeQuery('MATCH (o:SinkOffset) WHERE o.sink = $sink DELETE o', { sink: neo4jSinkId }, db)
  } finally {
    await driver.close()
  }
}

export class SinkPipeline {
  readonly prefix: string
  readonly config: Config
  readonly topics: ReturnType<typeof prefixedFamilies>['topics']
  readonly outputTopics: Record<OutputName, string>
  readonly processor: ProcessorConfig
  readonly processorFile: string
  readonly bucket: string
  readonly #families: ReturnType<typeof prefixedFamilies>
  #serdes: ProcessorSerdes | undefined
  #running: RunningProcessor | undefined

  /** Multiplies the pipeline's own waits (a benchmark-scale run moves far more records). */
  readonly timeScale: number

  constructor(fileUrl: string, options: { timeScale?: number } = {}) {
    this.timeScale = Math.max(1, options.timeScale ?? 1)
    this.prefix = testPrefix(fileUrl)
    this.config = stackConfig({ STATE_DIR: mkdtempSync(join(tmpdir(), 'sink-pipeline-')), LOG_LEVEL: 'warn' })
    this.#families = prefixedFamilies(this.config, this.prefix)
    this.topics = this.#families.topics
    this.outputTopics = Object.fromEntries(OUTPUT_NAMES.map((n) => [n, `${this.prefix}-${n}`])) as Record<
      OutputName,
      string
    >
    const settings = {
      applicationId: `${this.prefix}-app`,
      inputTopics: this.topics,
      outputTopics: this.outputTopics,
    }
    this.processor = resolveProcessorConfig(settings)
    this.processorFile = join(mkdtempSync(join(tmpdir(), 'sink-pipeline-config-')), 'processor.json')
    writeFileSync(this.processorFile, JSON.stringify(settings))
    this.bucket = this.prefix.toLowerCase().slice(0, 63)
  }

  async setup(): Promise<void> {
    await this.#families.createTopics(PARTITIONS)
    await registerEventSchemas(this.#families.client, { topics: this.topics })
    await registerSchemas(this.#families.client, outputSubjects(this.outputTopics))
    const admin = createAdmin(this.config.kafka, 'sink-pipeline')
    try {
      // ensureTopics returns once the broker lists the topics it created.
      const specs = outputTopicSpecs(this.outputTopics, { partitions: PARTITIONS })
      await ensureTopics(admin, specs, this.config.kafka.replicationFactor)
    } finally {
      await admin.close()
    }
    this.#serdes = await createProcessorSerdes(this.processor, {
      encoding: this.config.schemas.encoding,
      lookup: registrySchemaLookup(this.#families.client),
    })
  }

  /** Generated events (all four topics) at `rate` events/s. */
  produce(count: number, rate: number): Promise<unknown> {
    return produceEvents({
      seed: this.prefix,
      count,
      rate,
      baseTime: Date.now() - 60_000,
      duplicateShare: 0.01,
      outOfOrderShare: 0.03,
      topics: this.topics,
      batchSize: 200,
      target: { kind: 'kafka', config: this.config },
    })
  }

  async startProcessor(): Promise<void> {
    this.#running = await startProcessor(this.config, {
      processor: this.processor,
      metricsPort: 0,
      outputPartitions: PARTITIONS,
    })
  }

  /** Waits until the processor has nothing left to do (its outputs quiet), then stops it. */
  async finishProcessor(quietMs = 6000): Promise<void> {
    await readTopicRaw(this.config, Object.values(this.outputTopics), {
      expected: 0,
      isolation: 'read_committed',
      quietMs,
      timeoutMs: 180_000 * this.timeScale,
    })
    await this.#running?.close()
    this.#running = undefined
  }

  /** The environment of `agent-party run sinks` for this file. */
  sinkEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...stackEnv(),
      PROCESSOR_CONFIG: this.processorFile,
      SINK_GROUP_PREFIX: `${this.prefix}-sink`,
      REDIS_KEY_PREFIX: `${this.prefix}:`,
      S3_BUCKET: this.bucket,
      METRICS_PORT: '0',
      INSTANCE_ID: `${this.prefix}-sinks`,
      ARCHIVE_RANGE_RECORDS: '2000',
      ARCHIVE_IDLE_MS: '1500',
      LOG_LEVEL: 'info',
      ...extra,
    }
  }

  /** The targets as the CLI builds them for this file, for their audits and reads. */
  async targets(names: { neo4j?: string; redis?: string; redisPrefix?: string } = {}) {
    const serdes = this.#serdes as ProcessorSerdes
    const neo4j = new Neo4jSinkTarget({
      name: names.neo4j ?? 'neo4j',
      neo4j: this.config.neo4j,
      topics: {
        agents: this.outputTopics.agents,
        teams: this.outputTopics.teams,
        tasks: this.outputTopics.tasks,
      },
      serdes,
    })
    const redis = new RedisSinkTarget({
      name: names.redis ?? 'redis',
      url: this.config.redis.url,
      serdes,
      prefix: names.redisPrefix ?? `${this.prefix}:`,
      outputTopics: this.outputTopics,
    })
    await neo4j.open()
    await redis.open()
    return { neo4j, redis }
  }

  /** Every record of the topics, per partition, read_committed. */
  async readLog(topics: readonly string[]): Promise<Log> {
    const records = await readTopicRaw(this.config, [...topics], {
      expected: 0,
      isolation: 'read_committed',
      quietMs: 1500,
      timeoutMs: 120_000 * this.timeScale,
    })
    const log: Log = new Map()
    for (const topic of topics) for (let p = 0; p < PARTITIONS; p++) log.set(partitionKey(topic, p), [])
    for (const r of records) log.get(partitionKey(r.topic, r.partition))?.push(r)
    for (const list of log.values()) list.sort((a, b) => Number(a.offset - b.offset))
    return log
  }

  /**
   * The audit's differences from the log: per partition, the stored offset must be the last record's
   * and the records applied must be the records in the log (more: applied twice; fewer: lost).
   */
  async auditDifferences(target: SinkTarget<unknown>, log: Log): Promise<string[]> {
    const partitions = target.topics.flatMap((topic) =>
      Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })),
    )
    const audit = (await target.audit?.(partitions)) ?? new Map()
    const out: string[] = []
    for (const p of partitions) {
      const key = partitionKey(p.topic, p.partition)
      const records = log.get(key) ?? []
      const last = records.at(-1)
      const got = audit.get(key)
      const expected = {
        offset: last === undefined ? undefined : Number(last.offset),
        applied: records.length,
      }
      if (got?.offset !== expected.offset || (got?.applied ?? 0) !== expected.applied)
        out.push(
          `${target.name} ${p.topic}-${p.partition}: stored ${JSON.stringify(got)}, log ${JSON.stringify(expected)}`,
        )
    }
    return out
  }

  /** Waits until the target's stored offsets reach the last record of every partition of the log. */
  async waitCaughtUp(target: SinkTarget<unknown>, log: Log, timeoutMs: number): Promise<void> {
    const partitions: TopicPartition[] = target.topics.flatMap((topic) =>
      Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })),
    )
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const audit = (await target.audit?.(partitions)) ?? new Map()
      const behind = partitions.filter((p) => {
        const last = log.get(partitionKey(p.topic, p.partition))?.at(-1)
        return (
          last !== undefined && audit.get(partitionKey(p.topic, p.partition))?.offset !== Number(last.offset)
        )
      })
      if (behind.length === 0) return
      if (Date.now() > deadline)
        throw new Error(
          `${target.name} still behind on ${behind.map((p) => `${p.topic}-${p.partition}`).join(', ')}`,
        )
      await new Promise((r) => setTimeout(r, 500))
    }
  }

  /**
   * Waits until both sinks caught up with the log, then every difference of their state from it: the
   * audits (records applied exactly once), the graph and the read model.
   */
  async sinksDifferences(neo4j: Neo4jSinkTarget, redis: RedisSinkTarget, log: Log): Promise<string[]> {
    await this.waitCaughtUp(neo4j, log, 120_000 * this.timeScale)
    await this.waitCaughtUp(redis, log, 120_000 * this.timeScale)
    return [
      ...(await this.auditDifferences(neo4j, log)),
      ...(await this.auditDifferences(redis, log)),
      ...(await this.neo4jDifferences(log)),
      ...(await this.redisDifferences(log, redis)),
    ]
  }

  /** Decoded last value per key (null: a tombstone) of an output, from the log. */
  async lastValues<T>(name: OutputName, log: Log): Promise<Map<string, { key: Buffer; value: T | null }>> {
    const serde = (this.#serdes as ProcessorSerdes).output<T>(name)
    const topic = this.outputTopics[name]
    const last = new Map<string, RawRecord>()
    for (let p = 0; p < PARTITIONS; p++)
      for (const r of log.get(partitionKey(topic, p)) ?? [])
        last.set((r.key ?? Buffer.alloc(0)).toString('hex'), r)
    const values = [...last.values()].flatMap((r) => (r.value ? [r.value] : []))
    await serde.prepare?.(topic, values)
    const out = new Map<string, { key: Buffer; value: T | null }>()
    for (const [hex, r] of last)
      out.set(hex, {
        key: r.key ?? Buffer.alloc(0),
        value: r.value ? serde.deserialize(topic, r.value) : null,
      })
    return out
  }

  /** The graph against the last snapshot of every agent, team and task. */
  async neo4jDifferences(log: Log): Promise<string[]> {
    const agents = [...(await this.lastValues<AgentSnapshot>('agents', log)).values()]
    const teams = [...(await this.lastValues<TeamSnapshot>('teams', log)).values()]
    const tasks = [...(await this.lastValues<TaskSnapshot>('tasks', log)).values()]
    const driver = createNeo4jDriver(this.config.neo4j)
    const out: string[] = []
    const differ = (what: string, got: unknown, want: unknown) => {
      if (!isDeepStrictEqual(got, want))
        out.push(`${what}: graph ${JSON.stringify(got)}, log ${JSON.stringify(want)}`)
    }
    try {
      const db = { database: this.config.neo4j.database }
      const ids = (list: { key: Buffer }[]) => list.map((e) => e.key.toString())
      const { records: agentRows } = await driver.executeQuery(
        `MATCH (a:Agent) WHERE a.id IN $ids
         RETURN a.id AS id, a { .status, .template_id, .version, .events, .updated_at, .team_id, .team_role } AS props,
                COLLECT { MATCH (a)-[:HAS_CAPABILITY]->(c) RETURN c.name + '/' + c.category } AS caps`,
        { ids: ids(agents) },
        db,
      )
      const graphAgents = new Map(agentRows.map((r) => [r.get('id') as string, r]))
      for (const { key, value } of agents) {
        const row = graphAgents.get(key.toString())
        if (value === null) {
          if (row !== undefined && Object.values(row.get('props')).some((v) => v !== null))
            out.push(`agent ${key}: tombstoned in the log, present in the graph`)
          continue
        }
        if (row === undefined) {
          out.push(`agent ${value.agent_id}: missing from the graph`)
          continue
        }
        differ(`agent ${value.agent_id}`, row.get('props'), {
          status: value.status,
          template_id: value.template_id,
          version: value.version,
          events: value.events,
          updated_at: value.updated_at,
          team_id: value.team_id,
          team_role: value.team_role,
        })
        differ(
          `agent ${value.agent_id} capabilities`,
          [...(row.get('caps') as string[])].sort(),
          value.capabilities.map((c) => `${c.name}/${c.category}`).sort(),
        )
      }
      const { records: teamRows } = await driver.executeQuery(
        `MATCH (t:Team) WHERE t.id IN $ids
         RETURN t.id AS id, t { .status, .events, .updated_at } AS props,
                COLLECT { MATCH (t)<-[m:MEMBER_OF]-(a) RETURN a.id + '/' + m.role } AS members`,
        { ids: ids(teams) },
        db,
      )
      const graphTeams = new Map(teamRows.map((r) => [r.get('id') as string, r]))
      for (const { value } of teams) {
        if (value === null) continue
        const row = graphTeams.get(value.team_id)
        if (row === undefined) {
          out.push(`team ${value.team_id}: missing from the graph`)
          continue
        }
        differ(`team ${value.team_id}`, row.get('props'), {
          status: value.status,
          events: value.events,
          updated_at: value.updated_at,
        })
        differ(
          `team ${value.team_id} members`,
          [...(row.get('members') as string[])].sort(),
          value.members.map((m) => `${m.agent_id}/${m.role}`).sort(),
        )
      }
      const { records: taskRows } = await driver.executeQuery(
        `MATCH (k:Task) WHERE k.id IN $ids
         RETURN k.id AS id, k { .status, .priority, .tokens_used, .events, .team_id } AS props,
                COLLECT { MATCH (k)-[:REQUIRES]->(c) RETURN c.name } AS requires,
                COLLECT { MATCH (k)<-[:ASSIGNED_TO]-(t) RETURN t.id } AS teams`,
        { ids: ids(tasks) },
        db,
      )
      const graphTasks = new Map(taskRows.map((r) => [r.get('id') as string, r]))
      for (const { value } of tasks) {
        if (value === null) continue
        const row = graphTasks.get(value.task_id)
        if (row === undefined) {
          out.push(`task ${value.task_id}: missing from the graph`)
          continue
        }
        differ(`task ${value.task_id}`, row.get('props'), {
          status: value.status,
          priority: value.priority,
          tokens_used: value.tokens_used,
          events: value.events,
          team_id: value.team_id,
        })
        differ(
          `task ${value.task_id} requires`,
          [...(row.get('requires') as string[])].sort(),
          [...new Set(value.required_capabilities)].sort(),
        )
        differ(`task ${value.task_id} team`, row.get('teams'), value.team_id === null ? [] : [value.team_id])
      }
      if (agents.length === 0 || teams.length === 0 || tasks.length === 0)
        out.push(`the log has no entities of some kind: ${agents.length}/${teams.length}/${tasks.length}`)
    } finally {
      await driver.close()
    }
    return out
  }

  /** The Redis read model against the last value of every key of every output it serves. */
  async redisDifferences(log: Log, redis: RedisSinkTarget, prefix = `${this.prefix}:`): Promise<string[]> {
    const read = new RedisReadModel(redis.redis, prefix)
    const out: string[] = []
    // Plain data on both sides (Avro decodes records as instances of their schema's class).
    const plain = (v: unknown) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)))
    const differ = (what: string, got: unknown, want: unknown) => {
      if (!isDeepStrictEqual(plain(got), plain(want)))
        out.push(`${what}: redis ${JSON.stringify(got)}, log ${JSON.stringify(want)}`)
    }
    let compared = 0
    for (const { key, value } of (await this.lastValues<AgentSnapshot>('agents', log)).values()) {
      differ(`agent ${key}`, await read.getAgent(key.toString()), value)
      compared++
    }
    for (const { key, value } of (await this.lastValues<TaskSnapshot>('tasks', log)).values()) {
      differ(`task ${key}`, await read.getTask(key.toString()), value)
      compared++
    }
    for (const { key, value } of (await this.lastValues<TeamSnapshot>('teams', log)).values()) {
      const team = await read.getTeam(key.toString())
      if (team === null || value === null) differ(`team ${key}`, team, value)
      else {
        const { roles, ...snapshot } = team
        differ(`team ${key}`, snapshot, value)
        differ(`team ${key} roles`, roles, Object.fromEntries(value.members.map((m) => [m.agent_id, m.role])))
      }
      compared++
    }
    for (const name of Object.keys(REDIS_OUTPUTS) as OutputName[]) {
      if (OUTPUTS[name].kind !== 'windowed') continue
      const session = name === 'agentSessions'
      for (const { key, value } of (await this.lastValues<Record<string, unknown>>(name, log)).values()) {
        // Time-windowed keys end with the start; session keys with the end, then the start.
        const group = key.subarray(0, key.length - (session ? 16 : 8)).toString()
        const start = Number(key.readBigInt64BE(key.length - 8))
        const end = session ? Number(key.readBigInt64BE(key.length - 16)) : undefined
        const windows = await read.metricWindows(name, group, start, start + 1)
        // A session merged away (a tombstone) must be gone, not a later session with the same start.
        const found = windows.find((w) => end === undefined || w.window_end === end) ?? null
        differ(`${name} ${group}@${start}${end === undefined ? '' : `-${end}`}`, found, value)
        compared++
      }
    }
    if (compared < 100) out.push(`only ${compared} values compared: the log is too small to tell`)
    return out
  }

  /** The archive against the input topics: every record, in offset order, same bytes. */
  async archiveDifferences(): Promise<string[]> {
    const reader = new ArchiveReader({ client: createS3Client(this.config.s3), bucket: this.bucket })
    const log = await this.readLog(Object.values(this.topics))
    const out: string[] = []
    let compared = 0
    for (const topic of Object.values(this.topics)) {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const want = log.get(partitionKey(topic, partition)) ?? []
        const got: { offset: number; key: string; value: string }[] = []
        for await (const r of reader.partitionRecords(topic, partition))
          got.push({
            offset: r.offset,
            key: r.key?.toString('hex') ?? '',
            value: r.value?.toString('hex') ?? '',
          })
        const expected = want.map((r) => ({
          offset: Number(r.offset),
          key: r.key?.toString('hex') ?? '',
          value: r.value?.toString('hex') ?? '',
        }))
        compared += expected.length
        if (!isDeepStrictEqual(got, expected))
          out.push(
            `archive ${topic}-${partition}: ${got.length} records archived, ${expected.length} in the log`,
          )
      }
    }
    if (compared === 0) out.push('no input records to compare')
    return out
  }

  async cleanUp(): Promise<void> {
    await this.#running?.close().catch(() => {})
    const admin = createAdmin(this.config.kafka, 'sink-pipeline-cleanup')
    try {
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(this.prefix))
      await deleteTestTopics(this.config, mine)
    } finally {
      await admin.close()
    }
    await this.#families.cleanUp().catch(() => {})
    for (const topic of Object.values(this.outputTopics))
      await this.#families.client.deleteSubject(valueSubject(topic), true).catch(() => {})
    const s3 = createS3Client(this.config.s3)
    if (await s3.bucketExists(this.bucket).catch(() => false)) {
      await removeUnder(s3, this.bucket, '').catch(() => {})
      await s3.removeBucket(this.bucket).catch(() => {})
    }
  }
}
