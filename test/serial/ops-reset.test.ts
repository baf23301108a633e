// The pipeline reset (ops/reset.ts) on the real stack: generated events through the processor into the
// Neo4j and Redis sinks (this file's topics, groups, sink ids and key prefix); the reset refused while a
// sink or the processor runs, with nothing changed; then, everything stopped, the reset: the
// application's input offsets at the earliest, its internal topics gone, the sinks emptied with their
// stored and committed offsets at the outputs' end; and the rebuild from earliest ends with the same
// entity state as before, each rebuilt output record applied once and no old one applied again.
//
// The Neo4j sink's reset clears the shared graph labels (as sink-neo4j.test.ts's reset does): a file
// running beside this one that reads back its own graph can lose it. This file checks only its own ids.
import type { Admin } from '@platformatic/kafka'
import { FetchIsolationLevels, ListOffsetTimestamps } from '@platformatic/kafka'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Config, SinkName } from '../../config/config.js'
import { createAdmin } from '../../kafka/clients.js'
import { partitionKey } from '../../kafka/partition-fetcher.js'
import { type PipelineResetReport, ResetRefusedError, resetPipeline } from '../../ops/reset.js'
import { createNeo4jDriver } from '../../sinks/neo4j/driver.js'
import type { Neo4jSinkTarget } from '../../sinks/neo4j/target.js'
import { RedisReadModel } from '../../sinks/redis/read-model.js'
import type { RedisSinkTarget } from '../../sinks/redis/target.js'
import { type RunningSinks, startSinks } from '../../sinks/run-sinks.js'
import { createS3Client } from '../../sinks/s3/client.js'
import type { RawRecord } from '../support/kafka.js'
import { keysUnder } from '../support/redis.js'
import { PARTITIONS, removeGraphData, SinkPipeline } from '../support/sink-pipeline.js'

const pipeline = new SinkPipeline(import.meta.url)
const EVENTS = 2000
const groupPrefix = `${pipeline.prefix}-sink`
const redisPrefix = `${pipeline.prefix}:`
const sinkId = (sink: SinkName) => `${pipeline.prefix}-${sink}`
/** The pipeline's configuration with this file's sink groups and bucket, as `run sinks` would have it. */
const config: Config = {
  ...pipeline.config,
  s3: { ...pipeline.config.s3, bucket: pipeline.bucket },
  sinks: { ...pipeline.config.sinks, groupPrefix, archiveRangeRecords: 2000, archiveIdleMs: 1000 },
}
const resetOptions = { processor: pipeline.processor, groupPrefix, redisPrefix, sinkId }
const appGroup = pipeline.processor.applicationId
const sinkGroups = [`${groupPrefix}-neo4j`, `${groupPrefix}-redis`]
const archiveGroup = `${groupPrefix}-archive`

type Log = Awaited<ReturnType<SinkPipeline['readLog']>>

let admin: Admin
let neo4j: Neo4jSinkTarget
let redis: RedisSinkTarget
let sinks: RunningSinks | undefined
let ids: { agents: string[]; teams: string[]; tasks: string[] }

beforeAll(async () => {
  await pipeline.setup()
  admin = createAdmin(pipeline.config.kafka, 'ops-reset-test')
  ;({ neo4j, redis } = await pipeline.targets({
    neo4j: sinkId('neo4j'),
    redis: sinkId('redis'),
    redisPrefix,
  }))
}, 120_000)

afterAll(async () => {
  await sinks?.close().catch(() => {})
  // Only this file's data: its Redis prefix, its graph ids and its sinks' offsets, its groups.
  await redis?.reset().catch(() => {})
  await removeGraphData(pipeline.config, ids, sinkId('neo4j'))
  await neo4j?.close()
  await redis?.close()
  await admin?.deleteGroups({ groups: [appGroup, ...sinkGroups, archiveGroup] }).catch(() => {})
  await admin?.close()
  await pipeline.cleanUp()
}, 120_000)

function runSinks(names: SinkName[] = ['neo4j', 'redis']): Promise<RunningSinks> {
  return startSinks(config, {
    sinks: names,
    processor: pipeline.processor,
    metricsPort: 0,
    redisPrefix,
    sinkId,
    runner: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 },
  })
}

async function committed(groupId: string): Promise<Record<string, number>> {
  const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId] })
  const out: Record<string, number> = {}
  for (const topic of group?.topics ?? [])
    for (const p of topic.partitions)
      if (p.committedOffset >= 0n) out[`${topic.name}-${p.partitionIndex}`] = Number(p.committedOffset)
  return out
}

/** Last stable offsets (where a read_committed reader ends) of every partition of the topics. */
async function stableEnds(topics: readonly string[]): Promise<Record<string, number>> {
  const result = await admin.listOffsets({
    topics: topics.map((name) => ({
      name,
      partitions: Array.from({ length: PARTITIONS }, (_, partitionIndex) => ({
        partitionIndex,
        timestamp: ListOffsetTimestamps.LATEST,
      })),
    })),
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  })
  const out: Record<string, number> = {}
  for (const t of result)
    for (const p of t.partitions) out[`${t.name}-${p.partitionIndex}`] = Number(p.offset)
  return out
}

function partitionsOf(target: { topics: readonly string[] }) {
  return target.topics.flatMap((topic) =>
    Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition })),
  )
}

async function audits(): Promise<Record<string, { offset: number | undefined; applied: number }>> {
  const out: Record<string, { offset: number | undefined; applied: number }> = {}
  for (const target of [neo4j, redis])
    for (const [key, audit] of await target.audit(partitionsOf(target)))
      out[`${target.name} ${key.replace('\u0000', '-')}`] = { offset: audit.offset, applied: audit.applied }
  return out
}

/** The entities of this file's log as the sinks hold them: graph nodes with relationships, Redis hashes. */
async function entityState(): Promise<unknown> {
  const driver = createNeo4jDriver(pipeline.config.neo4j)
  try {
    const { records } = await driver.executeQuery(
      `MATCH (n) WHERE (n:Agent AND n.id IN $agents) OR (n:Team AND n.id IN $teams) OR (n:Task AND n.id IN $tasks)
       RETURN labels(n)[0] + ':' + n.id AS id, properties(n) AS props,
              COLLECT { MATCH (n)-[r]-(m) RETURN type(r) + ' ' + coalesce(m.id, m.name) + ' ' + coalesce(r.role, '') } AS rels
       ORDER BY id`,
      ids,
      { database: pipeline.config.neo4j.database },
    )
    const graph = records.map((r) => ({
      id: r.get('id'),
      props: r.get('props'),
      rels: [...(r.get('rels') as string[])].sort(),
    }))
    const read = new RedisReadModel(redis.redis, redisPrefix)
    const cache = {
      agents: await Promise.all(ids.agents.map((id) => read.getAgent(id))),
      teams: await Promise.all(ids.teams.map((id) => read.getTeam(id))),
      tasks: await Promise.all(ids.tasks.map((id) => read.getTask(id))),
    }
    return JSON.parse(JSON.stringify({ graph, cache }))
  } finally {
    await driver.close()
  }
}

/** The application's changelog and repartition topics (its late and dead-letter topics are outputs). */
// Changelogs, repartition topics, and the instances' event-time reports (the processor aligns them).
const internal = (topic: string) =>
  topic.startsWith(`${appGroup}-`) &&
  (topic.endsWith('-changelog') || topic.endsWith('-repartition') || topic === `${appGroup}-event-time`)

/** What a failed reset would have changed: topics, group offsets, stored offsets, data. */
async function observable() {
  return {
    internalTopics: (await admin.listTopics()).filter(internal).sort(),
    groups: Object.fromEntries(
      await Promise.all([appGroup, ...sinkGroups].map(async (g) => [g, await committed(g)])),
    ),
    audits: await audits(),
    redisKeys: (await keysUnder(redis.redis, redisPrefix)).length,
    entities: await entityState(),
  }
}

/** The records after the offsets the reset stored: the rebuilt results, which alone may be applied. */
function afterReset(log: Log, report: PipelineResetReport, sink: SinkName): Log {
  const stored = new Map(
    report.sinks
      .find((s) => s.sink === sink)
      ?.storedOffsets.map((o) => [partitionKey(o.topic, o.partition), o.offset]),
  )
  const out: Log = new Map()
  for (const [key, records] of log)
    out.set(
      key,
      records.filter((r: RawRecord) => Number(r.offset) > (stored.get(key) ?? -1)),
    )
  return out
}

describe('resetPipeline', () => {
  it('is refused while a named sink or the processor runs; resets the application and the named sinks (the archive only when named); the rebuild equals the state before', async () => {
    // The pipeline caught up: processor stopped, outputs complete, both sinks applied them.
    await pipeline.startProcessor()
    await pipeline.produce(EVENTS, 4000)
    await pipeline.finishProcessor(4000)
    const topics = [...new Set([...neo4j.topics, ...redis.topics])]
    const before = await pipeline.readLog(topics)
    ids = {
      agents: [...(await pipeline.lastValues('agents', before)).values()].map((v) => v.key.toString()),
      teams: [...(await pipeline.lastValues('teams', before)).values()].map((v) => v.key.toString()),
      tasks: [...(await pipeline.lastValues('tasks', before)).values()].map((v) => v.key.toString()),
    }
    // The archive too, which the reset leaves alone unless it is named.
    sinks = await runSinks(['neo4j', 'redis', 'archive'])
    expect(await pipeline.sinksDifferences(neo4j, redis, before)).toEqual([])
    await expect.poll(() => pipeline.archiveDifferences(), { timeout: 30_000, interval: 1000 }).toEqual([])
    const state = await entityState()
    expect((state as { graph: unknown[] }).graph.length).toBeGreaterThan(0)

    // Refused while the sinks run: their groups named with their members; nothing changed.
    const unchanged = await observable()
    expect(unchanged.internalTopics.length).toBeGreaterThan(0)
    const whileSinks = await resetPipeline(config, resetOptions).catch((e: unknown) => e)
    expect(whileSinks).toBeInstanceOf(ResetRefusedError)
    expect((whileSinks as ResetRefusedError).reason).toBe('LIVE_MEMBERS')
    expect((whileSinks as ResetRefusedError).groups.map((g) => [g.groupId, g.members])).toEqual(
      sinkGroups.map((g) => [g, 1]),
    )
    expect(await observable()).toEqual(unchanged)
    const archiveCommitted = await committed(archiveGroup)
    await sinks.close()
    sinks = undefined

    // Refused while the processor runs (the sinks stopped): its group named; nothing changed.
    await pipeline.startProcessor()
    const whileProcessor = await resetPipeline(config, resetOptions).catch((e: unknown) => e)
    await pipeline.finishProcessor(1000)
    expect(whileProcessor).toBeInstanceOf(ResetRefusedError)
    expect((whileProcessor as ResetRefusedError).groups.map((g) => g.groupId)).toEqual([appGroup])
    expect(await observable()).toEqual(unchanged)

    // Everything stopped: the reset.
    const ends = await stableEnds(topics)
    const report = await resetPipeline(config, resetOptions)
    expect(report.applicationId).toBe(appGroup)
    // The application: the event topics' offsets at the earliest (never truncated: 0), its own late and
    // dead-letter topics' at their end (the rebuild writes their records again), internal topics and
    // their offsets gone.
    const inputOffsets = report.processor?.inputOffsets ?? []
    const eventTopics = new Set(Object.values(pipeline.topics))
    for (const topic of eventTopics)
      expect(inputOffsets.filter((o) => o.topic === topic)).toHaveLength(PARTITIONS)
    expect(inputOffsets.filter((o) => eventTopics.has(o.topic)).every((o) => o.offset === 0)).toBe(true)
    const own = inputOffsets.filter((o) => !eventTopics.has(o.topic))
    expect([...new Set(own.map((o) => o.topic))].sort()).toEqual([`${appGroup}-dlq`, `${appGroup}-late`])
    const ownEnds = await admin.listOffsets({
      topics: [...new Set(own.map((o) => o.topic))].map((name) => ({
        name,
        partitions: own
          .filter((o) => o.topic === name)
          .map((o) => ({ partitionIndex: o.partition, timestamp: ListOffsetTimestamps.LATEST })),
      })),
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    })
    expect(own.map((o) => [o.topic, o.partition, o.offset]).sort()).toEqual(
      ownEnds.flatMap((t) => t.partitions.map((p) => [t.name, p.partitionIndex, Number(p.offset)])).sort(),
    )
    expect(await committed(appGroup)).toEqual(
      Object.fromEntries(inputOffsets.map((o) => [`${o.topic}-${o.partition}`, o.offset])),
    )
    expect([...(report.processor?.deletedTopics ?? [])].sort()).toEqual(unchanged.internalTopics)
    await expect
      .poll(async () => (await admin.listTopics()).filter(internal), {
        timeout: 15_000,
      })
      .toEqual([])
    // The sinks: data gone, stored offsets (nothing applied) and committed offsets at the outputs' end.
    expect(report.sinks.map((s) => [s.sink, s.id, s.groupId, s.from])).toEqual([
      ['neo4j', sinkId('neo4j'), sinkGroups[0], 'end'],
      ['redis', sinkId('redis'), sinkGroups[1], 'end'],
    ])
    // The archive (not named) untouched: objects and group offsets.
    expect(await pipeline.archiveDifferences()).toEqual([])
    expect(await committed(archiveGroup)).toEqual(archiveCommitted)
    expect((await keysUnder(redis.redis, redisPrefix)).filter((k) => !k.includes('sink-offset:'))).toEqual([])
    expect(await entityState()).toEqual({
      graph: [],
      cache: {
        agents: ids.agents.map(() => null),
        teams: ids.teams.map(() => null),
        tasks: ids.tasks.map(() => null),
      },
    })
    const expectedAudits: Record<string, { offset: number | undefined; applied: number }> = {}
    for (const target of [neo4j, redis])
      for (const p of partitionsOf(target)) {
        const end = ends[`${p.topic}-${p.partition}`] ?? 0
        expectedAudits[`${target.name} ${p.topic}-${p.partition}`] = {
          offset: end > 0 ? end - 1 : undefined,
          applied: 0,
        }
      }
    expect(await audits()).toEqual(expectedAudits)
    for (const [i, target] of [neo4j, redis].entries())
      expect(await committed(sinkGroups[i] as string)).toEqual(
        Object.fromEntries(
          partitionsOf(target).map((p) => [`${p.topic}-${p.partition}`, ends[`${p.topic}-${p.partition}`]]),
        ),
      )

    // The rebuild from earliest: the same entities as before; each rebuilt record applied once, the
    // old ones never again (the audit counts only records after the stored offsets).
    await pipeline.startProcessor()
    sinks = await runSinks()
    await pipeline.finishProcessor(4000)
    const rebuilt = await pipeline.readLog(topics)
    const neo4jLog = afterReset(rebuilt, report, 'neo4j')
    const redisLog = afterReset(rebuilt, report, 'redis')
    const rebuiltRecords = [...neo4jLog.values(), ...redisLog.values()].reduce((n, r) => n + r.length, 0)
    expect(rebuiltRecords).toBeGreaterThan(0)
    await pipeline.waitCaughtUp(neo4j, neo4jLog, 60_000)
    await pipeline.waitCaughtUp(redis, redisLog, 60_000)
    expect([
      ...(await pipeline.auditDifferences(neo4j, neo4jLog)),
      ...(await pipeline.auditDifferences(redis, redisLog)),
      ...(await pipeline.neo4jDifferences(neo4jLog)),
      ...(await pipeline.redisDifferences(redisLog, redis)),
    ]).toEqual([])
    expect(await entityState()).toEqual(state)

    // The archive named, alone (sinks stopped): emptied, to archive again from the earliest offsets.
    await sinks.close()
    sinks = undefined
    const archiveReport = await resetPipeline(config, {
      ...resetOptions,
      sinks: ['archive'],
      resetProcessor: false,
    })
    expect(archiveReport.processor).toBeNull()
    const inputs = Object.values(pipeline.topics)
    expect(archiveReport.sinks.map((s) => [s.sink, s.from, s.storedOffsets])).toEqual([
      ['archive', 'earliest', []],
    ])
    const objects: string[] = []
    for await (const o of createS3Client(config.s3).listObjectsV2(pipeline.bucket, '', true))
      if (o.name) objects.push(o.name)
    expect(objects).toEqual([])
    expect(await committed(archiveGroup)).toEqual(
      Object.fromEntries(
        inputs.flatMap((t) => Array.from({ length: PARTITIONS }, (_, p) => [`${t}-${p}`, 0])),
      ),
    )
  }, 150_000)
})
